import { TurnCompleted_Status, type TaskEvent, type TurnCompleted } from '@foundation/contracts';
import { isFinal, isOneTurn, type SessionRecord, type SessionState } from './session-record.js';

export type TurnState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What a batch of a turn's new events changes on its session and turn. */
export interface SessionChange {
  state: SessionState;
  reason: string;
  engineSessionId: string;
  engineVersion: string;
  turnState: TurnState;
}

/**
 * Applies a turn's new events to its session: the engine's session id and CLI version as they become
 * known, and the turn's end from its TurnCompleted. Only the session's current turn moves the session; a
 * session that has ended (a user cancelled it) keeps its final state while the last events still arrive.
 */
export function applyTurnEvents(session: SessionRecord, turn: { turn: number; state: TurnState }, events: TaskEvent[]): SessionChange {
  const change: SessionChange = {
    state: session.state,
    reason: session.reason,
    engineSessionId: session.engineSessionId,
    engineVersion: session.engineVersion,
    turnState: turn.state === 'pending' && events.length > 0 ? 'running' : turn.state,
  };
  const current = turn.turn === session.turns;
  let completed: TurnCompleted | undefined;
  for (const { event } of events) {
    const kind = event?.kind;
    if (kind?.case === 'sessionStarted' && current) {
      if (kind.value.engineSessionId !== '') change.engineSessionId = kind.value.engineSessionId;
      if (kind.value.cliVersion !== '') change.engineVersion = kind.value.cliVersion;
    }
    if (kind?.case === 'turnCompleted' && !completed) completed = kind.value;
  }
  if (completed) {
    change.turnState = turnStateOf(completed.status);
    if (current && completed.engineSessionId !== '') change.engineSessionId = completed.engineSessionId;
  }
  if (!current || isFinal(session.state)) return change;
  if (completed) {
    const ended = sessionStateAfterTurn(completed.status, isOneTurn(session));
    change.state = ended;
    if (ended === 'failed' || ended === 'cancelled') change.reason = completed.reason || defaultReason(completed.status);
  } else if (events.length > 0 && session.state === 'pending') {
    change.state = 'running';
  }
  return change;
}

/** The session's state once its current turn ended with `status`; a one-turn session then ends. */
export function sessionStateAfterTurn(status: TurnCompleted_Status, oneTurn: boolean): SessionState {
  switch (turnStateOf(status)) {
    case 'succeeded':
      return oneTurn ? 'completed' : 'idle';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

function turnStateOf(status: TurnCompleted_Status): TurnState {
  switch (status) {
    case TurnCompleted_Status.SUCCESS:
      return 'succeeded';
    case TurnCompleted_Status.CANCELLED:
      return 'cancelled';
    case TurnCompleted_Status.FAILED:
    case TurnCompleted_Status.MAX_TURNS:
    case TurnCompleted_Status.BUDGET_EXCEEDED:
    case TurnCompleted_Status.TIMEOUT:
    case TurnCompleted_Status.UNSPECIFIED:
      return 'failed';
  }
}

/** For a TurnCompleted that gives no reason of its own. */
function defaultReason(status: TurnCompleted_Status): string {
  switch (status) {
    case TurnCompleted_Status.CANCELLED:
      return 'the turn was cancelled';
    case TurnCompleted_Status.MAX_TURNS:
      return 'the engine reached its maximum number of turns';
    case TurnCompleted_Status.BUDGET_EXCEEDED:
      return 'the engine exceeded its budget';
    case TurnCompleted_Status.TIMEOUT:
      return 'the turn timed out';
    default:
      return 'the turn failed';
  }
}
