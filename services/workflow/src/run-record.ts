import { Code, type ConnectError } from '@connectrpc/connect';
import { rpcError } from '@foundation/kit';
import type { JsonValue } from '@foundation/workflow-dsl';
import { dateOf, optionalDateOf, type SqlTransaction } from '@foundation/db';
import { boundedPayload } from './run-event-log.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type RunTrigger = 'manual' | 'webhook' | 'schedule' | 'retry';
export type FinishedStatus = Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>;

export interface RunError {
  reason: string;
  message: string;
  nodeId: string;
}

export interface RunRecord {
  id: string;
  orgId: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  inputs: { [key: string]: JsonValue };
  trigger: RunTrigger;
  triggerNodeId: string;
  triggerOutput: JsonValue;
  idempotencyKey: string;
  startedBy: string;
  retryOf: string;
  attempt: number;
  workerId: string;
  leaseToken: string | null;
  leaseExpiresAt: Date | null;
  cancelRequested: boolean;
  lastSeq: number;
  deadline: Date | null;
  /** The version's run timeout, fixed at the start; the first claim sets the deadline from it. Null for runs queued before it was stored. */
  timeBudgetMs: number | null;
  error: RunError | undefined;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

/** How a run ended. */
export interface RunOutcome {
  status: FinishedStatus;
  error?: RunError;
}

export function isFinished(status: RunStatus): status is FinishedStatus {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** NOT_FOUND: the run is not in the tenant's scope (another org's runs are invisible under row-level security). */
export function runNotFound(runId: string): ConnectError {
  return rpcError(Code.NotFound, 'NOT_FOUND', `run ${runId} does not exist in this organization`);
}

/** Reads and locks a run for a change; NOT_FOUND when it is not in the tenant's scope. */
export async function lockRun(tx: SqlTransaction, runId: string): Promise<RunRecord> {
  const rows = await tx.query('select * from workflow.workflow_runs where id = $1 for update', [runId]);
  if (!rows[0]) throw runNotFound(runId);
  return runRecord(rows[0]);
}

export async function readRun(tx: SqlTransaction, runId: string): Promise<RunRecord> {
  const rows = await tx.query('select * from workflow.workflow_runs where id = $1', [runId]);
  if (!rows[0]) throw runNotFound(runId);
  return runRecord(rows[0]);
}

/**
 * Ends a locked run through `workflow.finish_run` (migration 0003): its status, error and end time, the
 * lease dropped, and its terminal event appended (run.succeeded, run.failed or run.cancelled, keyed so it
 * is written once). Returns the new last seq.
 */
export async function finishRun(tx: SqlTransaction, run: RunRecord, outcome: RunOutcome, payloadMaxBytes: number): Promise<number> {
  const rows = await tx.query('select workflow.finish_run($1, $2::jsonb) as last_seq', [run.id, JSON.stringify(storableOutcome(outcome, payloadMaxBytes))]);
  return Number(rows[0]!['last_seq']);
}

/** An outcome as `workflow.finish_run` takes it, with its terminal event's payload, bounded. */
export function storableOutcome(outcome: RunOutcome, payloadMaxBytes: number) {
  const error = outcome.error;
  const payload = error ? { reason: error.reason, message: error.message, ...(error.nodeId && { nodeId: error.nodeId }) } : {};
  return { status: outcome.status, ...error, payload: boundedPayload(payload, payloadMaxBytes) };
}

export function runRecord(row: Record<string, unknown>): RunRecord {
  const reason = row['error_reason'] as string | null;
  return {
    id: row['id'] as string,
    orgId: row['org_id'] as string,
    workflowId: row['workflow_id'] as string,
    workflowVersion: row['workflow_version'] as number,
    status: row['status'] as RunStatus,
    inputs: row['inputs'] as { [key: string]: JsonValue },
    trigger: row['trigger'] as RunTrigger,
    triggerNodeId: row['trigger_node_id'] as string,
    triggerOutput: row['trigger_output'] as JsonValue,
    idempotencyKey: (row['idempotency_key'] as string | null) ?? '',
    startedBy: (row['started_by'] as string | null) ?? '',
    retryOf: (row['retry_of'] as string | null) ?? '',
    attempt: row['attempt'] as number,
    workerId: (row['worker_id'] as string | null) ?? '',
    leaseToken: (row['lease_token'] as string | null) ?? null,
    leaseExpiresAt: optionalDateOf(row['lease_expires_at']),
    cancelRequested: row['cancel_requested'] as boolean,
    lastSeq: Number(row['last_seq']),
    deadline: optionalDateOf(row['deadline']),
    timeBudgetMs: (row['time_budget_ms'] as number | null) ?? null,
    error: reason
      ? { reason, message: (row['error_message'] as string | null) ?? '', nodeId: (row['error_node_id'] as string | null) ?? '' }
      : undefined,
    createdAt: dateOf(row['created_at']),
    startedAt: optionalDateOf(row['started_at']),
    endedAt: optionalDateOf(row['ended_at']),
  };
}
