import { EngineError_Code, TurnCompleted_Status, type AgentEvent } from '@foundation/contracts';
import { engineError } from './events.js';
import { IdleTimer } from './idle-timer.js';

/** A stop the engine did not decide: the caller's cancel or a timeout. */
export interface Stop {
  status: TurnCompleted_Status;
  reason: string;
  /** Emitted before the TurnCompleted (a timeout is an error; a cancel is not). */
  error?: AgentEvent;
}

export interface StopLimits {
  /** No stdout for this long stops the turn; 0 disables it. */
  idleTimeoutMs: number;
  /** The turn's whole run may not last longer; 0 disables it. */
  wallClockTimeoutMs: number;
  signal: AbortSignal;
}

export interface StopTriggers {
  /** The engine printed something: the idle clock starts again. */
  outputSeen(): void;
  dispose(): void;
}

/** Watches what stops a turn from outside the engine: the idle timeout, the wall clock and the caller's cancel. */
export function watchStopTriggers(limits: StopLimits, onStop: (stop: Stop) => void): StopTriggers {
  const timeout = (reason: string) => onStop({ status: TurnCompleted_Status.TIMEOUT, reason, error: engineError(reason, EngineError_Code.TIMEOUT, true) });
  const idle =
    limits.idleTimeoutMs > 0
      ? new IdleTimer(limits.idleTimeoutMs, () => timeout(`idle timeout: no output for ${formatDuration(limits.idleTimeoutMs)}`))
      : undefined;
  const wallClock =
    limits.wallClockTimeoutMs > 0
      ? setTimeout(() => timeout(`wall-clock timeout after ${formatDuration(limits.wallClockTimeoutMs)}`), limits.wallClockTimeoutMs)
      : undefined;
  const onAbort = () => onStop({ status: TurnCompleted_Status.CANCELLED, reason: 'cancelled' });
  limits.signal.addEventListener('abort', onAbort, { once: true });
  return {
    outputSeen: () => idle?.touch(),
    dispose: () => {
      idle?.stop();
      clearTimeout(wallClock);
      limits.signal.removeEventListener('abort', onAbort);
    },
  };
}

function formatDuration(ms: number): string {
  return ms < 1000 || ms % 1000 !== 0 ? `${ms}ms` : `${ms / 1000}s`;
}
