import type { RunError, RunRecord } from './run-record.js';

export interface EndVerdict {
  status: 'failed' | 'cancelled';
  error: RunError;
}

/**
 * Whether a queued or running run that is about to be (re)taken must end instead: a cancellation a user
 * asked for, its time budget spent, or its recovery budget (claims) used up. The claim and the reconciler
 * both decide with this, so a run ends for the same reasons whichever finds it.
 */
export function endVerdict(run: RunRecord, now: number, maxClaims: number): EndVerdict | undefined {
  if (run.cancelRequested) return { status: 'cancelled', error: { reason: 'CANCELLED', message: 'cancelled by a user', nodeId: '' } };
  if (run.deadline && run.deadline.getTime() <= now) {
    return { status: 'failed', error: { reason: 'RUN_TIMEOUT', message: 'the run exceeded its time budget', nodeId: '' } };
  }
  if (run.attempt >= maxClaims) {
    const message = `the run was lost by ${run.attempt} workers in a row and is not retried again`;
    return { status: 'failed', error: { reason: 'RECOVERY_EXHAUSTED', message, nodeId: '' } };
  }
  return undefined;
}
