import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { withTenantSql } from '@foundation/db';
import { rpcError } from '@foundation/kit';
import type { JsonValue, WorkflowSpecJson } from '@foundation/workflow-dsl';
import type { SqlTransaction } from '@foundation/db';
import { appendRunEvents, type NewRunEvent } from './run-event-log.js';
import { finishRun, isFinished, readRun, runRecord, type RunOutcome, type RunRecord } from './run-record.js';
import { endVerdict } from './run-verdicts.js';

export interface LeasePolicy {
  /** How long a claim or report keeps the run the worker's. */
  leaseMs: number;
  /** Runs of one org running at once; a claim beyond it is asked to come back later. */
  orgMaxRunning: number;
  /** Claims of one run (the first plus recoveries) before the run is failed as unrecoverable. */
  maxClaims: number;
  /** How long a worker waits before claiming again when the org is at capacity. */
  capacityRetryMs: number;
  payloadMaxBytes: number;
}

export interface NodeCheckpointRecord {
  nodeId: string;
  status: 'succeeded' | 'skipped';
  output: JsonValue;
  attempt: number;
}

export type ClaimResult =
  /** `lastSeq` is set when the claim itself ended the run (its terminal event is new). */
  | { outcome: 'finished'; lastSeq?: number }
  | { outcome: 'lease_held' | 'org_at_capacity'; retryAfterMs: number }
  | {
      outcome: 'claimed';
      run: RunRecord;
      spec: WorkflowSpecJson;
      leaseToken: string;
      leaseExpiresAt: Date;
      checkpoints: NodeCheckpointRecord[];
      nodeAttempts: Record<string, number>;
      /** Seqs this claim appended up to, for the watchers' notification. */
      lastSeq: number;
    };

export interface ProgressReport {
  events: NewRunEvent[];
  checkpoints: NodeCheckpointRecord[];
  finish?: RunOutcome;
}

export interface ReportResult {
  cancelRequested: boolean;
  leaseExpiresAt: Date;
  lastSeq: number;
}

/**
 * Claims and progress reports: the lease protocol between the workflow service and its workers. A claim
 * hands the run to one worker with a fresh lease token; every report must carry that token, so a worker
 * that lost its lease (it stalled, another took over) can never write to the run again.
 */
export class RunLeases {
  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: LeasePolicy,
    /** The run's time budget in ms, from its version's spec (the DSL's default when the spec sets none). */
    private readonly runTimeoutMs: (run: RunRecord, spec: WorkflowSpecJson) => number,
  ) {}

  claim(orgId: string, runId: string, workerId: string): Promise<ClaimResult> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const locked = await tx.query(
        `select r.*, v.spec as version_spec from workflow.workflow_runs r
         join workflow.workflow_versions v on v.org_id = r.org_id and v.workflow_id = r.workflow_id and v.version = r.workflow_version
         where r.id = $1 for update of r`,
        [runId],
      );
      if (!locked[0]) throw rpcError(Code.NotFound, 'NOT_FOUND', `run ${runId} does not exist in this organization`);
      const run = runRecord(locked[0]);
      const spec = locked[0]['version_spec'] as WorkflowSpecJson;
      if (isFinished(run.status)) return { outcome: 'finished' };
      const now = Date.now();
      if (run.status === 'running' && run.leaseExpiresAt && run.leaseExpiresAt.getTime() > now) {
        return { outcome: 'lease_held', retryAfterMs: run.leaseExpiresAt.getTime() - now };
      }
      const verdict = endVerdict(run, now, this.policy.maxClaims);
      if (verdict) {
        return { outcome: 'finished', lastSeq: await finishRun(tx, run, verdict, this.policy.payloadMaxBytes) };
      }
      if (await this.orgAtCapacity(tx, orgId, runId)) {
        return { outcome: 'org_at_capacity', retryAfterMs: this.policy.capacityRetryMs };
      }
      const leaseToken = randomUUID();
      const leaseExpiresAt = new Date(now + this.policy.leaseMs);
      const attempt = run.attempt + 1;
      const deadline = run.deadline ?? new Date(now + this.runTimeoutMs(run, spec));
      // One statement: the lease and `run.started` (its key holds the claim's number, new under the lock).
      const claimed = await tx.query(
        `with claimed as (
           update workflow.workflow_runs set status = 'running', attempt = $1, worker_id = $2, lease_token = $3, lease_expires_at = $4,
             started_at = coalesce(started_at, now()), deadline = $5, last_seq = last_seq + 1
           where id = $6 returning org_id, id, last_seq
         ), started as (
           insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
           select org_id, id, last_seq, 'run.started', '', 0, $7::jsonb, $8, now() from claimed
         )
         select last_seq from claimed`,
        [attempt, workerId, leaseToken, leaseExpiresAt, deadline, runId, JSON.stringify({ attempt, resumed: attempt > 1 }), `run.started:${attempt}`],
      );
      const lastSeq = Number(claimed[0]!['last_seq']);
      // A first claim has nothing to resume from.
      const resumed = attempt > 1;
      const checkpointRows = resumed
        ? await tx.query('select node_id, status, output, attempt from workflow.workflow_run_nodes where run_id = $1', [runId])
        : [];
      const attemptRows = resumed
        ? await tx.query(
            `select node_id, max(attempt) as attempt from workflow.workflow_run_events where run_id = $1 and node_id <> '' group by node_id`,
            [runId],
          )
        : [];
      return {
        outcome: 'claimed',
        run: { ...run, status: 'running', attempt, deadline, leaseToken, leaseExpiresAt },
        spec,
        leaseToken,
        leaseExpiresAt,
        checkpoints: checkpointRows.map((row) => ({
          nodeId: row['node_id'] as string,
          status: row['status'] as 'succeeded' | 'skipped',
          output: row['output'] as JsonValue,
          attempt: row['attempt'] as number,
        })),
        nodeAttempts: Object.fromEntries(attemptRows.map((row) => [row['node_id'] as string, Number(row['attempt'])])),
        lastSeq,
      };
    });
  }

  report(orgId: string, runId: string, leaseToken: string, report: ProgressReport): Promise<ReportResult> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      // Extending the lease locks the row and proves the token in one statement; no row means the lease is gone.
      const leaseExpiresAt = new Date(Date.now() + this.policy.leaseMs);
      const rows = await tx.query(
        `update workflow.workflow_runs set lease_expires_at = $1 where id = $2 and status = 'running' and lease_token = $3 returning *`,
        [leaseExpiresAt, runId, leaseToken],
      );
      if (!rows[0]) {
        const run = await readRun(tx, runId);
        throw rpcError(Code.FailedPrecondition, 'LEASE_LOST', `this worker no longer holds run ${runId}: it ${run.status === 'running' ? 'was taken over by another worker' : run.status}`);
      }
      const run = runRecord(rows[0]);
      let lastSeq = await appendRunEvents(tx, orgId, runId, run.lastSeq, report.events, this.policy.payloadMaxBytes);
      await this.storeCheckpoints(tx, orgId, runId, report.checkpoints);
      if (report.finish) {
        lastSeq = await finishRun(tx, { ...run, lastSeq }, report.finish, this.policy.payloadMaxBytes);
        return { cancelRequested: run.cancelRequested, leaseExpiresAt: new Date(), lastSeq };
      }
      return { cancelRequested: run.cancelRequested, leaseExpiresAt, lastSeq };
    });
  }

  /**
   * Whether the org already runs as many runs as it may. The advisory lock serializes the count and the
   * claim per org, so two workers cannot both take the last slot.
   */
  private async orgAtCapacity(tx: SqlTransaction, orgId: string, runId: string): Promise<boolean> {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`workflow-runs:${orgId}`]);
    const rows = await tx.query(
      `select count(*)::int as running from workflow.workflow_runs where status = 'running' and lease_expires_at > now() and id <> $1`,
      [runId],
    );
    return (rows[0]!['running'] as number) >= this.policy.orgMaxRunning;
  }

  private async storeCheckpoints(tx: SqlTransaction, orgId: string, runId: string, checkpoints: NodeCheckpointRecord[]): Promise<void> {
    if (checkpoints.length === 0) return;
    const rows = checkpoints.map((c) => ({ nodeId: c.nodeId, status: c.status, output: c.output, attempt: c.attempt }));
    await tx.query(
      `insert into workflow.workflow_run_nodes (org_id, run_id, node_id, status, output, attempt)
       select $1, $2, c ->> 'nodeId', c ->> 'status', c -> 'output', (c ->> 'attempt')::int from jsonb_array_elements($3::jsonb) as c
       on conflict (org_id, run_id, node_id) do nothing`,
      [orgId, runId, JSON.stringify(rows)],
    );
  }
}
