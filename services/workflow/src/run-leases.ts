import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { withTenantSql } from '@foundation/db';
import { rpcError } from '@foundation/kit';
import type { JsonValue, WorkflowSpecJson } from '@foundation/workflow-dsl';
import type { SqlTransaction } from '@foundation/db';
import { appendRunEvents, type NewRunEvent } from './run-event-log.js';
import { finishRun, readRun, runRecord, type RunOutcome, type RunRecord } from './run-record.js';
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

/** What `workflow.claim_run` returns (JSON); `run` is the row, after the claim when claimed. */
type ClaimRow =
  | { outcome: 'finished' | 'org_at_capacity' }
  | { outcome: 'lease_held'; retry_after_ms: number }
  | { outcome: 'must_end'; run: Record<string, unknown> }
  | {
      outcome: 'claimed';
      run: Record<string, unknown>;
      spec: WorkflowSpecJson;
      checkpoints: NodeCheckpointRecord[];
      node_attempts: Record<string, number>;
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
    /** The run's time budget in ms, from its version's spec, for runs started before their budget was stored with them. */
    private readonly runTimeoutMs: (run: RunRecord, spec: WorkflowSpecJson) => number,
  ) {}

  /**
   * One call to `workflow.claim_run` (migration 0002) in the tenant transaction: the lock, the checks and
   * the lease in one round trip instead of four to six. Ending a run that must end stays here, worded by
   * `endVerdict` as the reconciler words it.
   */
  claim(orgId: string, runId: string, workerId: string): Promise<ClaimResult> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const now = Date.now();
      const rows = await tx.query('select workflow.claim_run($1, $2, $3, $4, $5, $6, $7) as claim', [
        runId,
        workerId,
        randomUUID(),
        new Date(now),
        this.policy.leaseMs,
        this.policy.maxClaims,
        this.policy.orgMaxRunning,
      ]);
      const claim = rows[0]!['claim'] as ClaimRow | null;
      if (!claim) throw rpcError(Code.NotFound, 'NOT_FOUND', `run ${runId} does not exist in this organization`);
      switch (claim.outcome) {
        case 'finished':
          return { outcome: 'finished' };
        case 'lease_held':
          return { outcome: 'lease_held', retryAfterMs: claim.retry_after_ms };
        case 'org_at_capacity':
          return { outcome: 'org_at_capacity', retryAfterMs: this.policy.capacityRetryMs };
        case 'must_end': {
          const run = runRecord(claim.run);
          const verdict = endVerdict(run, now, this.policy.maxClaims)!;
          return { outcome: 'finished', lastSeq: await finishRun(tx, run, verdict, this.policy.payloadMaxBytes) };
        }
        case 'claimed': {
          const run = runRecord(claim.run);
          // Runs queued before time budgets were stored get their deadline from the spec.
          const deadline = run.deadline ?? (await this.setDeadline(tx, run, new Date(now + this.runTimeoutMs(run, claim.spec))));
          return {
            outcome: 'claimed',
            run: { ...run, deadline },
            spec: claim.spec,
            leaseToken: run.leaseToken!,
            leaseExpiresAt: run.leaseExpiresAt!,
            checkpoints: claim.checkpoints,
            nodeAttempts: claim.node_attempts,
            lastSeq: run.lastSeq,
          };
        }
      }
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

  private async setDeadline(tx: SqlTransaction, run: RunRecord, deadline: Date): Promise<Date> {
    await tx.query('update workflow.workflow_runs set deadline = $1 where id = $2', [deadline, run.id]);
    return deadline;
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
