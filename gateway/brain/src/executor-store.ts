import type pg from 'pg';
import { callTenantFunction, querySql, withTenantSql, type SqlTransaction } from '@foundation/db';
import type { PageWindow } from '@foundation/kit';
import { v7 as uuidv7 } from 'uuid';

/** What a node says about its machine, as stored (the proto's NodeFacts). */
export interface NodeFactsRecord {
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
}

export interface EngineInstallationRecord {
  engine: string;
  version: string;
}

export interface ExecutorRecord {
  id: string;
  orgId: string;
  name: string;
  facts: NodeFactsRecord;
  engines: EngineInstallationRecord[];
  capacity: number;
  pairedAt: Date;
  revokedAt?: Date;
  lastSeenAt?: Date;
  /** An open stream and heartbeats within the silence limit. */
  online: boolean;
  runningTasks: number;
}

/** How the brain knows a node from its credential, before any org scope exists. */
export interface CredentialOwner {
  executorId: string;
  orgId: string;
  revoked: boolean;
}

export interface NodeConnectionFacts {
  facts: NodeFactsRecord;
  engines: EngineInstallationRecord[];
  capacity: number;
}

/**
 * The executor registry in PostgreSQL: who is paired, with what credential (hashed), what it last said it
 * offers, and which stream holds it now. A node counts as online while its stream is recorded and its
 * last heartbeat is younger than `silenceLimitMs`, so a brain instance that died without closing its
 * streams leaves no node online for long.
 */
export class ExecutorStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly silenceLimitMs: number,
  ) {}

  /** Inserts the executor of a redeemed pairing code (inside the redemption's transaction). */
  async insert(tx: SqlTransaction, orgId: string, name: string, facts: NodeFactsRecord, credentialHash: string): Promise<string> {
    const id = uuidv7();
    await tx.query(
      `insert into brain.executors (id, org_id, name, facts, credential_hash, paired_at) values ($1, $2, $3, $4, $5, now())`,
      [id, orgId, name, JSON.stringify(facts), credentialHash],
    );
    return id;
  }

  /** The org's executors, newest first (ids are UUIDv7). */
  list(orgId: string, window: PageWindow): Promise<ExecutorRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `${this.selectSql()} ${window.after ? 'where e.id < $2' : ''} order by e.id desc limit ${window.limit + 1}`,
        window.after ? [this.silenceLimitMs, window.after.id] : [this.silenceLimitMs],
      );
      return rows.map(executorRecord);
    });
  }

  get(orgId: string, executorId: string): Promise<ExecutorRecord | undefined> {
    return withTenantSql(this.pool, orgId, (tx) => this.read(tx, executorId));
  }

  async read(tx: SqlTransaction, executorId: string): Promise<ExecutorRecord | undefined> {
    const rows = await tx.query(`${this.selectSql()} where e.id = $2`, [this.silenceLimitMs, executorId]);
    return rows[0] ? executorRecord(rows[0]) : undefined;
  }

  /** Marks the executor revoked (keeping the first revocation time); undefined when the org has no such executor. */
  revoke(orgId: string, executorId: string): Promise<ExecutorRecord | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      await tx.query(
        `update brain.executors set revoked_at = coalesce(revoked_at, now()), connection_id = null, connected_instance = null where id = $1`,
        [executorId],
      );
      return this.read(tx, executorId);
    });
  }

  async findByCredentialHash(credentialHash: string): Promise<CredentialOwner | undefined> {
    const rows = await querySql(this.pool, 'select id, org_id, revoked from brain.executor_by_credential($1)', [credentialHash]);
    const row = rows[0];
    return row ? { executorId: row['id'] as string, orgId: row['org_id'] as string, revoked: row['revoked'] as boolean } : undefined;
  }

  /**
   * Records a new stream as the one holding the node, with what its Hello said. False when the node was
   * revoked meanwhile (the caller ends the stream).
   */
  recordConnected(owner: CredentialOwner, connectionId: string, instanceId: string, hello: NodeConnectionFacts): Promise<boolean> {
    return withTenantSql(this.pool, owner.orgId, async (tx) => {
      const rows = await tx.query(
        `update brain.executors set facts = $2, engines = $3, capacity = $4, connection_id = $5, connected_instance = $6, last_seen_at = now()
         where id = $1 and revoked_at is null returning id`,
        [owner.executorId, JSON.stringify(hello.facts), JSON.stringify(hello.engines), hello.capacity, connectionId, instanceId],
      );
      return rows.length > 0;
    });
  }

  /**
   * A heartbeat: the stream still carries the node. Says whether this stream still holds the node, or why
   * not (a fallback for a revocation or a newer stream whose signal did not reach this instance).
   */
  async recordSeen(orgId: string, executorId: string, connectionId: string): Promise<'held' | 'revoked' | 'replaced'> {
    // One round trip (brain migration 0004): every connected node beats every interval.
    const [row] = await callTenantFunction(this.pool, orgId, 'brain.record_seen', [executorId, connectionId]);
    if (!row || row['revoked_at']) return 'revoked';
    return row['connection_id'] === connectionId ? 'held' : 'replaced';
  }

  /** The stream ended; a newer stream of the same node (on any instance) is left alone. */
  async recordDisconnected(orgId: string, executorId: string, connectionId: string): Promise<void> {
    await withTenantSql(this.pool, orgId, (tx) =>
      tx.query('update brain.executors set connection_id = null, connected_instance = null where id = $1 and connection_id = $2', [
        executorId,
        connectionId,
      ]),
    );
  }

  private selectSql(): string {
    return `select e.*, (e.connection_id is not null and e.last_seen_at > now() - $1 * interval '1 millisecond') as online,
      (select count(*) from brain.tasks t where t.assigned_executor_id = e.id and t.state = 'assigned')::int as running_tasks
      from brain.executors e`;
  }
}

function executorRecord(row: Record<string, unknown>): ExecutorRecord {
  return {
    id: row['id'] as string,
    orgId: row['org_id'] as string,
    name: row['name'] as string,
    facts: row['facts'] as NodeFactsRecord,
    engines: row['engines'] as EngineInstallationRecord[],
    capacity: row['capacity'] as number,
    pairedAt: row['paired_at'] as Date,
    revokedAt: (row['revoked_at'] as Date | null) ?? undefined,
    lastSeenAt: (row['last_seen_at'] as Date | null) ?? undefined,
    online: row['online'] as boolean,
    runningTasks: row['running_tasks'] as number,
  };
}
