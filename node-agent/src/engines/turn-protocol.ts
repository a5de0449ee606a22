import type { AgentEvent } from '@foundation/contracts';
import type { TurnCompletedInit } from './events.js';
import type { JsonRecord } from './json-fields.js';

/** Where a protocol puts the events it maps. */
export interface EventSink {
  emit(event: AgentEvent): void;
}

/** The engine's stdin: a pipe for Claude, nothing for the engines whose stdin is /dev/null. */
export interface EngineStdin {
  /** Writes one JSON line; does nothing once closed or when the engine has no stdin pipe. */
  writeLine(value: unknown): void;
  close(): void;
}

/** How the engine's process ended. */
export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of its stderr, one line. */
  stderr: string;
}

/**
 * What one engine contributes to a turn: how to read its stdout lines and what its own output says about
 * the outcome. Everything about processes, timeouts and cancel is the supervisor's, the same for all.
 */
export interface TurnProtocol {
  /** Called once the engine runs; Claude writes its user line here. */
  start(stdin: EngineStdin, events: EventSink): void;
  /** One JSON object line of stdout; `line` is its text, for a RawEvent. */
  onLine(value: JsonRecord, line: string, events: EventSink): void;
  /** True once the engine printed its terminal line: the process should now exit by itself. */
  readonly finished: boolean;
  /** Asks the engine to end its turn before its process group is killed (Claude's interrupt request). */
  interrupt?(stdin: EngineStdin): void;
  /** The engine's session id as far as known, for the TurnCompleted of any turn, cancelled ones too. */
  readonly engineSessionId: string;
  /** The last assistant message so far. */
  readonly resultText: string;
  /** The TurnCompleted the engine's own output and exit decide (when no cancel or timeout did). */
  completion(exit: EngineExit): TurnCompletedInit;
}

/** Why a process ended when the engine printed no terminal line, for a TurnCompleted reason. */
export function endedWithoutFinalEvent(exit: EngineExit): string {
  const stderr = exit.stderr === '' ? '' : `: ${exit.stderr}`;
  if (exit.signal !== null) return `killed by ${exit.signal} without a final event${stderr}`;
  if (exit.code !== null && exit.code !== 0) return `exited with code ${exit.code}${stderr}`;
  return `ended without a final event${stderr}`;
}
