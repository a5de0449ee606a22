import type pg from 'pg';
import { callTenantFunction, querySql, withTenantSql, type SqlTransaction } from '@foundation/db';
import { isUuid } from '@foundation/kit';

export type TaskState = 'pending' | 'assigned' | 'closing' | 'ended';
/** How the brain ends a task itself (the node never reported its end): the synthetic TurnCompleted's status. */
export type ClosingStatus = 'failed' | 'cancelled';

export interface TaskSpec {
  taskId: string;
  engine: string;
  requestedExecutorId?: string;
  workspace: string;
  prompt: string;
  resumeEngineSessionId: string;
  toolBridge: boolean;
  idleTimeoutMs: number;
  wallClockTimeoutMs: number;
}

export interface TaskRecord extends TaskSpec {
  orgId: string;
  state: TaskState;
  assignedExecutorId?: string;
  leaseToken?: string;
  leaseExpiresAt?: Date;
  /** The last seq the session service confirmed persisted. */
  lastSeq: number;
  closingStatus?: ClosingStatus;
  closingReason?: string;
}

/** A task a node holds, and the last seq the brain wrote down as persisted for it. */
export interface HeldTask {
  taskId: string;
  lastSeq: number;
}

export interface TaskLeaseRef {
  taskId: string;
  leaseToken: string;
}

/**
 * Agent tasks in PostgreSQL: `pending` until a node takes one, `assigned` under a lease the node's
 * heartbeats extend, `closing` when the brain ended it (lease lost for good, revoked node, cancelled while
 * pending) until its synthetic TurnCompleted is recorded, then `ended`. Every change a node asks for names
 * the task's lease token, checked in the same statement that makes the change. The calls every dispatch
 * makes (insert, claim, lease check, what was persisted) are tenant functions (migration 0003,
 * `tenantFunctionSql`): one round trip to PostgreSQL each rather than a transaction's three or four.
 */
export class TaskStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Queues a task; a second call with the same id changes nothing and returns the first one's record. */
  async insert(orgId: string, spec: TaskSpec): Promise<TaskRecord | undefined> {
    const rows = await callTenantFunction(this.pool, orgId, 'brain.insert_task', [
      spec.taskId,
      spec.engine,
      spec.requestedExecutorId ?? null,
      spec.workspace,
      spec.prompt,
      spec.resumeEngineSessionId,
      spec.toolBridge,
      spec.idleTimeoutMs,
      spec.wallClockTimeoutMs,
    ]);
    return rows[0] ? taskRecord(rows[0]) : undefined;
  }

  read(orgId: string, taskId: string): Promise<TaskRecord | undefined> {
    return withTenantSql(this.pool, orgId, (tx) => readTask(tx, taskId));
  }

  /**
   * Assigns the node up to as many pending tasks as it has free capacity for, oldest first, under fresh
   * leases. The executor row lock serializes claims for one node; `SKIP LOCKED` lets instances claiming for
   * other nodes pass over rows being claimed, and the state check means no task is ever assigned twice.
   * The lock is a statement of its own (in `brain.claim_tasks`, whose statements each see what committed
   * before they started): the claim that follows must count the node's running tasks in a
   * snapshot taken after the lock was granted, or it would miss what a concurrent claim for the node (its
   * previous stream, on another instance) assigned just before, and exceed the node's capacity.
   */
  async claimFor(orgId: string, executorId: string, engines: string[], capacity: number, leaseMs: number): Promise<TaskRecord[]> {
    const rows = await callTenantFunction(this.pool, orgId, 'brain.claim_tasks', [executorId, engines, capacity, leaseMs]);
    return rows.map(taskRecord);
  }

  /** The task if this node holds it under this lease token now (never for a malformed lease: no query then). */
  async held(orgId: string, executorId: string, lease: TaskLeaseRef): Promise<TaskRecord | undefined> {
    if (!isWellFormedLease(lease)) return undefined;
    const rows = await callTenantFunction(this.pool, orgId, 'brain.held_task', [lease.taskId, executorId, lease.leaseToken]);
    return rows[0] ? taskRecord(rows[0]) : undefined;
  }

  /**
   * Extends the leases of the listed tasks this node holds, in one statement: `held` are those it still
   * holds (with what the session service persisted of each, as far as the brain wrote it down), in the
   * order listed; `lost` the ids of the others, a malformed lease among them.
   */
  async extendLeases(orgId: string, executorId: string, leases: TaskLeaseRef[], leaseMs: number): Promise<{ held: HeldTask[]; lost: string[] }> {
    const wellFormed = leases.filter(isWellFormedLease);
    const rows = wellFormed.length === 0 ? [] : await withTenantSql(this.pool, orgId, (tx) =>
      tx.query<{ id: string; last_seq: string | number }>(
        `update brain.tasks t set lease_expires_at = now() + $2 * interval '1 millisecond'
         from jsonb_to_recordset($3::jsonb) as l(task_id uuid, lease_token uuid)
         where t.id = l.task_id and t.lease_token = l.lease_token and t.state = 'assigned' and t.assigned_executor_id = $1
         returning t.id, t.last_seq`,
        [executorId, leaseMs, JSON.stringify(wellFormed.map((l) => ({ task_id: l.taskId, lease_token: l.leaseToken })))],
      ),
    );
    const extended = new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
    const isHeld = (l: TaskLeaseRef) => wellFormed.includes(l) && extended.has(l.taskId);
    return {
      held: leases.filter(isHeld).map((l) => ({ taskId: l.taskId, lastSeq: extended.get(l.taskId)! })),
      lost: leases.filter((l) => !isHeld(l)).map((l) => l.taskId),
    };
  }

  /**
   * Records what the session service persisted for a held task, and ends the task when its TurnCompleted
   * was among it. False when the lease is gone (the node is told it no longer holds the task).
   */
  async recordPersisted(orgId: string, executorId: string, lease: TaskLeaseRef, persistedSeq: number, completed: boolean): Promise<boolean> {
    const rows = await callTenantFunction<{ record_persisted: boolean }>(this.pool, orgId, 'brain.record_persisted', [
      lease.taskId,
      executorId,
      lease.leaseToken,
      persistedSeq,
      completed,
    ]);
    return rows[0]?.record_persisted === true;
  }

  /** The node refused a task another node may run: it waits for one again, never offered to this node. */
  returnToPending(orgId: string, executorId: string, lease: TaskLeaseRef): Promise<boolean> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `update brain.tasks set state = 'pending', assigned_executor_id = null, lease_token = null, lease_expires_at = null,
           rejected_by = array_append(rejected_by, $2)
         where id = $1 and state = 'assigned' and assigned_executor_id = $2 and lease_token = $3 and last_seq = 0 returning id`,
        [lease.taskId, executorId, lease.leaseToken],
      );
      return rows.length > 0;
    });
  }

  /**
   * Takes the task from whoever holds it and marks it for the brain to end with `status`; `onlyIf` limits
   * it to tasks in those states (a user cancels only pending ones this way). The record as closed, or
   * undefined when the task was not in such a state.
   */
  close(orgId: string, taskId: string, status: ClosingStatus, reason: string, onlyIf: TaskState[]): Promise<TaskRecord | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `update brain.tasks set state = 'closing', lease_token = null, closing_status = $2, closing_reason = $3
         where id = $1 and state = any($4::text[]) returning *`,
        [taskId, status, reason, onlyIf],
      );
      return rows[0] ? taskRecord(rows[0]) : undefined;
    });
  }

  /** As `close`, for a task this node holds under this lease (a node refusing a task for good). */
  closeHeld(orgId: string, executorId: string, lease: TaskLeaseRef, reason: string): Promise<TaskRecord | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `update brain.tasks set state = 'closing', lease_token = null, closing_status = 'failed', closing_reason = $4
         where id = $1 and state = 'assigned' and assigned_executor_id = $2 and lease_token = $3 returning *`,
        [lease.taskId, executorId, lease.leaseToken, reason],
      );
      return rows[0] ? taskRecord(rows[0]) : undefined;
    });
  }

  /** Closes every unfinished task of a revoked node, those waiting for it by name included. */
  closeTasksOfExecutor(orgId: string, executorId: string, reason: string): Promise<TaskRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `update brain.tasks set state = 'closing', lease_token = null, closing_status = 'failed', closing_reason = $2
         where (state = 'assigned' and assigned_executor_id = $1) or (state = 'pending' and requested_executor_id = $1) returning *`,
        [executorId, reason],
      );
      return rows.map(taskRecord);
    });
  }

  /** After the synthetic TurnCompleted of a closing task was recorded at `seq`. */
  async markClosed(orgId: string, taskId: string, seq: number): Promise<void> {
    await withTenantSql(this.pool, orgId, (tx) =>
      tx.query(`update brain.tasks set state = 'ended', ended_at = now(), last_seq = greatest(last_seq, $2) where id = $1 and state = 'closing'`, [
        taskId,
        seq,
      ]),
    );
  }

  /** What kinds of task are pending across every org: per org, engine and the node a task names, if any. */
  async pendingKinds(): Promise<{ orgId: string; engine: string; executorId?: string }[]> {
    const rows = await querySql(this.pool, 'select org_id, engine, requested_executor_id from brain.pending_task_kinds()');
    return rows.map((r) => ({
      orgId: r['org_id'] as string,
      engine: r['engine'] as string,
      executorId: (r['requested_executor_id'] as string | null) ?? undefined,
    }));
  }

  /** Tasks of every org whose lease lapsed, and closing tasks whose end is not recorded yet. */
  async toSweep(maxRows: number): Promise<{ orgId: string; taskId: string }[]> {
    const rows = await querySql(this.pool, 'select id, org_id from brain.tasks_to_sweep($1)', [maxRows]);
    return rows.map((r) => ({ orgId: r['org_id'] as string, taskId: r['id'] as string }));
  }

  /**
   * Settles a task whose lease lapsed: one that never reported an event goes back to pending (no engine
   * output can be lost or repeated), any other is closed as failed, naming the node. `storedSeq` is what
   * the session service said it stored of the task (its `last_seq` here may lag behind: see
   * TaskEventRelay); either one above 0 means events were reported. Returns the task as it now is, or
   * undefined when its lease was extended or it ended meanwhile.
   */
  expireLease(orgId: string, taskId: string, storedSeq = 0): Promise<TaskRecord | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `select t.*, e.name as executor_name from brain.tasks t left join brain.executors e on e.id = t.assigned_executor_id
         where t.id = $1 and t.state = 'assigned' and t.lease_expires_at < now() for update of t`,
        [taskId],
      );
      const row = rows[0];
      if (!row) return undefined;
      const updated =
        Number(row['last_seq']) === 0 && storedSeq === 0
          ? await tx.query(
              `update brain.tasks set state = 'pending', assigned_executor_id = null, lease_token = null, lease_expires_at = null
               where id = $1 returning *`,
              [taskId],
            )
          : await tx.query(
              `update brain.tasks set state = 'closing', lease_token = null, closing_status = 'failed', closing_reason = $2,
                 last_seq = greatest(last_seq, $3)
               where id = $1 returning *`,
              [taskId, `lease expired: node ${JSON.stringify(row['executor_name'])} stopped reporting`, storedSeq],
            );
      return taskRecord(updated[0]!);
    });
  }
}

/** Whether the lease's ids are UUIDs, as the columns they are compared with require. */
export function isWellFormedLease(lease: TaskLeaseRef): boolean {
  return isUuid(lease.taskId) && isUuid(lease.leaseToken);
}

async function readTask(tx: SqlTransaction, taskId: string): Promise<TaskRecord | undefined> {
  const rows = await tx.query('select * from brain.tasks where id = $1', [taskId]);
  return rows[0] ? taskRecord(rows[0]) : undefined;
}

function taskRecord(row: Record<string, unknown>): TaskRecord {
  return {
    taskId: row['id'] as string,
    orgId: row['org_id'] as string,
    engine: row['engine'] as string,
    requestedExecutorId: (row['requested_executor_id'] as string | null) ?? undefined,
    workspace: row['workspace'] as string,
    prompt: row['prompt'] as string,
    resumeEngineSessionId: row['resume_engine_session_id'] as string,
    toolBridge: row['tool_bridge'] as boolean,
    idleTimeoutMs: Number(row['idle_timeout_ms']),
    wallClockTimeoutMs: Number(row['wall_clock_timeout_ms']),
    state: row['state'] as TaskState,
    assignedExecutorId: (row['assigned_executor_id'] as string | null) ?? undefined,
    leaseToken: (row['lease_token'] as string | null) ?? undefined,
    leaseExpiresAt: (row['lease_expires_at'] as Date | null) ?? undefined,
    lastSeq: Number(row['last_seq']),
    closingStatus: (row['closing_status'] as ClosingStatus | null) ?? undefined,
    closingReason: (row['closing_reason'] as string | null) ?? undefined,
  };
}
