import type pg from 'pg';
import { Code } from '@connectrpc/connect';
import { callTenantFunction, querySql, withTenantSql } from '@foundation/db';
import { rpcError, type PageWindow } from '@foundation/kit';
import { v7 as uuidv7 } from 'uuid';
import { boundedPayload, readRunEvents, type RunEventRecord } from './run-event-log.js';
import { finishRun, isFinished, lockRun, readRun, runNotFound, runRecord, type RunError, type RunRecord, type RunStatus } from './run-record.js';

/** A run about to be queued: what its starter decides; the rest of a RunRecord the store and workers fill in. */
export type NewRun = Pick<
  RunRecord,
  'workflowId' | 'workflowVersion' | 'inputs' | 'trigger' | 'triggerNodeId' | 'triggerOutput' | 'idempotencyKey' | 'startedBy' | 'retryOf' | 'timeBudgetMs'
>;

export interface RunFilter {
  workflowId?: string;
  status?: RunStatus;
}

/** A run that may need the reconciler, as `workflow.runs_to_reconcile` reports it. */
export interface RunToReconcile {
  id: string;
  orgId: string;
  status: RunStatus;
}

/**
 * Runs as users see them: starting (the row and its `run.queued` event), reading, listing, cancelling.
 * Every query runs in a tenant scope: a tenant function (one round trip) on the paths of every run, a
 * tenant transaction elsewhere. Claims and progress reports are in `RunLeases`.
 */
export class RunStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly payloadMaxBytes: number,
  ) {}

  /**
   * Inserts a queued run with its first event, in one call to the tenant function `workflow.insert_run`
   * (migration 0004). With an idempotency key already used for the workflow, the first run is returned
   * instead (`created` false), also when two starts race on the unique key. WORKFLOW_ARCHIVED when the
   * workflow was archived after the start checked it: the function's share lock on the workflow's row made
   * the insert wait for that.
   */
  async insert(orgId: string, run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    const queued = boundedPayload({ trigger: run.trigger, version: run.workflowVersion }, this.payloadMaxBytes);
    const [row] = await callTenantFunction<{ insert_run: { created: boolean; run: Record<string, unknown> } | null }>(this.pool, orgId, 'workflow.insert_run', [
      uuidv7(),
      run.workflowId,
      run.workflowVersion,
      JSON.stringify(run.inputs),
      run.trigger,
      run.triggerNodeId,
      JSON.stringify(run.triggerOutput),
      run.idempotencyKey || null,
      run.startedBy || null,
      run.retryOf || null,
      run.timeBudgetMs,
      JSON.stringify(queued),
    ]);
    const inserted = row!.insert_run;
    if (!inserted) throw rpcError(Code.FailedPrecondition, 'WORKFLOW_ARCHIVED', 'the workflow was archived; archived workflows cannot run');
    return { run: runRecord(inserted.run), created: inserted.created };
  }

  /** Deletes a run that could not be queued, with its events: a failed start leaves nothing behind. */
  async remove(orgId: string, runId: string): Promise<void> {
    await withTenantSql(this.pool, orgId, (tx) => tx.query('delete from workflow.workflow_runs where id = $1', [runId]));
  }

  /** One call to the tenant function `workflow.read_run` (migration 0004); NOT_FOUND for a run outside the tenant. */
  async get(orgId: string, runId: string): Promise<RunRecord> {
    const [row] = await callTenantFunction(this.pool, orgId, 'workflow.read_run', [runId]);
    if (!row) throw runNotFound(runId);
    return runRecord(row);
  }

  /** Newest first (ids are UUIDv7). */
  list(orgId: string, filter: RunFilter, window: PageWindow): Promise<RunRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `select * from workflow.workflow_runs
         where ($1::uuid is null or workflow_id = $2::uuid) and ($3::text is null or status = $4::text) and ($5::uuid is null or id < $6::uuid)
         order by id desc limit $7`,
        [
          filter.workflowId ?? null,
          filter.workflowId ?? null,
          filter.status ?? null,
          filter.status ?? null,
          window.after?.id ?? null,
          window.after?.id ?? null,
          window.limit + 1,
        ],
      );
      return rows.map(runRecord);
    });
  }

  /** Events after `afterSeq`; NOT_FOUND for a run outside the tenant. */
  async events(orgId: string, runId: string, afterSeq: number, limit: number): Promise<RunEventRecord[]> {
    const events = await readRunEvents(this.pool, orgId, runId, afterSeq, limit);
    // Only an empty page can hide a run that does not exist (or belongs to another org).
    if (events.length === 0) await this.get(orgId, runId);
    return events;
  }

  /**
   * Cancels a queued run at once; marks a running one for its worker, which stops it (`running` true).
   * A cancelled run is returned as it is; a succeeded or failed one is FAILED_PRECONDITION.
   */
  requestCancel(orgId: string, runId: string): Promise<{ run: RunRecord; running: boolean }> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const run = await lockRun(tx, runId);
      if (run.status === 'cancelled') return { run, running: false };
      if (isFinished(run.status)) {
        throw rpcError(Code.FailedPrecondition, 'RUN_FINISHED', `the run already ${run.status}; there is nothing to cancel`);
      }
      if (run.status === 'queued') {
        await finishRun(tx, run, { status: 'cancelled', error: { reason: 'CANCELLED', message: 'cancelled before it started', nodeId: '' } }, this.payloadMaxBytes);
        return { run: await readRun(tx, runId), running: false };
      }
      await tx.query('update workflow.workflow_runs set cancel_requested = true where id = $1', [runId]);
      return { run: await readRun(tx, runId), running: true };
    });
  }

  /** Ends a queued or running run as failed or cancelled (the reconciler's verdict); no-op once finished. */
  async end(orgId: string, runId: string, status: 'failed' | 'cancelled', error: RunError): Promise<RunRecord> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const run = await lockRun(tx, runId);
      if (!isFinished(run.status)) await finishRun(tx, run, { status, error }, this.payloadMaxBytes);
      return readRun(tx, runId);
    });
  }

  /** Runs queued since before `queuedBefore`, or running with a lease expired before `leaseExpiredBefore` or past their deadline. */
  async toReconcile(queuedBefore: Date, leaseExpiredBefore: Date, max: number): Promise<RunToReconcile[]> {
    const rows = await querySql(this.pool, 'select * from workflow.runs_to_reconcile($1, $2, $3)', [queuedBefore, leaseExpiredBefore, max]);
    return rows.map((row) => ({ id: row['id'] as string, orgId: row['org_id'] as string, status: row['status'] as RunStatus }));
  }
}
