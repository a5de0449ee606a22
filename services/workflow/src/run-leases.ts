import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { callTenantFunction, withTenantSql } from '@foundation/db';
import { rpcError } from '@foundation/kit';
import type { JsonValue, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { storableEvents, type NewRunEvent } from './run-event-log.js';
import { finishRun, isFinished, lockRun, runNotFound, runRecord, storableOutcome, type RunOutcome, type RunRecord, type RunStatus } from './run-record.js';
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

/** What `workflow.claim_run` returns (JSON); `run` is the row after the claim. */
type ClaimRow =
  | { outcome: 'finished' | 'org_at_capacity' | 'must_end' }
  | { outcome: 'lease_held'; retry_after_ms: number }
  | {
      outcome: 'claimed';
      run: Record<string, unknown>;
      spec: WorkflowSpecJson;
      checkpoints: NodeCheckpointRecord[];
      node_attempts: Record<string, number>;
    };

/** What `workflow.report_progress` returns (JSON); null when the run is not in this org. */
type ReportRow = { outcome: 'lease_lost'; status: RunStatus } | { outcome: 'reported'; last_seq: number; cancel_requested: boolean };

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
   * One call to the tenant function `workflow.claim_run` (migration 0004): the lock, the checks and the
   * lease in one round trip. A run that must end instead is ended by `endInstead`.
   */
  async claim(orgId: string, runId: string, workerId: string): Promise<ClaimResult> {
    const now = Date.now();
    const [row] = await callTenantFunction<{ claim_run: ClaimRow | null }>(this.pool, orgId, 'workflow.claim_run', [
      runId,
      workerId,
      randomUUID(),
      new Date(now),
      this.policy.leaseMs,
      this.policy.maxClaims,
      this.policy.orgMaxRunning,
    ]);
    const claim = row!.claim_run;
    if (!claim) throw runNotFound(runId);
    switch (claim.outcome) {
      case 'finished':
        return { outcome: 'finished' };
      case 'lease_held':
        return { outcome: 'lease_held', retryAfterMs: claim.retry_after_ms };
      case 'org_at_capacity':
        return { outcome: 'org_at_capacity', retryAfterMs: this.policy.capacityRetryMs };
      case 'must_end':
        return (await this.endInstead(orgId, runId)) ?? this.claim(orgId, runId, workerId);
      case 'claimed': {
        const run = runRecord(claim.run);
        // Runs queued before time budgets were stored get their deadline from the spec.
        const deadline = run.deadline ?? (await this.setDeadline(orgId, run, new Date(now + this.runTimeoutMs(run, claim.spec))));
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
  }

  /**
   * One call to the tenant function `workflow.report_progress` (migrations 0003, 0005): the lease, the events,
   * the checkpoints and the finish in one round trip. Payloads are bounded here, before the call.
   */
  async report(orgId: string, runId: string, leaseToken: string, report: ProgressReport): Promise<ReportResult> {
    const leaseExpiresAt = new Date(Date.now() + this.policy.leaseMs);
    const [row] = await callTenantFunction<{ report_progress: ReportRow | null }>(this.pool, orgId, 'workflow.report_progress', [
      runId,
      leaseToken,
      leaseExpiresAt,
      JSON.stringify(storableEvents(report.events, this.policy.payloadMaxBytes)),
      JSON.stringify(report.checkpoints),
      report.finish ? JSON.stringify(storableOutcome(report.finish, this.policy.payloadMaxBytes)) : null,
    ]);
    const reported = row!.report_progress;
    if (!reported) throw runNotFound(runId);
    if (reported.outcome === 'lease_lost') {
      const lost = reported.status === 'running' ? 'was taken over by another worker' : reported.status;
      throw rpcError(Code.FailedPrecondition, 'LEASE_LOST', `this worker no longer holds run ${runId}: it ${lost}`);
    }
    return {
      cancelRequested: reported.cancel_requested,
      // A finished run has no lease left.
      leaseExpiresAt: report.finish ? new Date() : leaseExpiresAt,
      lastSeq: Number(reported.last_seq),
    };
  }

  /**
   * Ends a run the claim found must end, worded by `endVerdict` as the reconciler words it, in a tenant
   * transaction of its own: the claim's lock ended with its call, so the run is locked and looked at again.
   * Ended meanwhile (by the reconciler, or by its last worker's final report), it is finished without a new
   * event: a run ends once. Undefined if it no longer must end, which cannot happen (a cancellation, a spent
   * budget and a claim count stay), so the caller claims again rather than trust that.
   */
  private endInstead(orgId: string, runId: string): Promise<ClaimResult | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const run = await lockRun(tx, runId);
      if (isFinished(run.status)) return { outcome: 'finished' };
      const verdict = endVerdict(run, Date.now(), this.policy.maxClaims);
      if (!verdict) return undefined;
      return { outcome: 'finished', lastSeq: await finishRun(tx, run, verdict, this.policy.payloadMaxBytes) };
    });
  }

  private async setDeadline(orgId: string, run: RunRecord, deadline: Date): Promise<Date> {
    await withTenantSql(this.pool, orgId, (tx) => tx.query('update workflow.workflow_runs set deadline = $1 where id = $2', [deadline, run.id]));
    return deadline;
  }
}
