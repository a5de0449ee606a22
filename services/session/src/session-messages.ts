import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Session_State, SessionEventSchema, SessionSchema, type Session, type SessionEvent } from '@foundation/contracts';
import type { SessionEventRecord } from './session-event-log.js';
import { isOneTurn, type SessionRecord, type SessionState } from './session-record.js';
import { sessionStateAfterTurn } from './turn-outcome.js';

const SESSION_STATES: Record<SessionState, Session_State> = {
  pending: Session_State.PENDING,
  running: Session_State.RUNNING,
  idle: Session_State.IDLE,
  completed: Session_State.COMPLETED,
  failed: Session_State.FAILED,
  cancelled: Session_State.CANCELLED,
};

export function sessionMessage(s: SessionRecord): Session {
  return create(SessionSchema, {
    id: s.id,
    engine: s.engine,
    executorId: s.executorId,
    workspace: s.workspace,
    state: SESSION_STATES[s.state],
    title: s.title,
    engineSessionId: s.engineSessionId,
    engineVersion: s.engineVersion,
    turns: s.turns,
    lastSeq: BigInt(s.lastSeq),
    reason: s.reason,
    createdBy: s.createdBy,
    createTime: timestampFromDate(s.createdAt),
    updateTime: timestampFromDate(s.updatedAt),
    workflowRunId: s.workflowRunId,
    parentSessionId: s.parentSessionId,
  });
}

export function sessionEventMessage(e: SessionEventRecord): SessionEvent {
  return create(SessionEventSchema, { seq: BigInt(e.seq), turn: e.turn, time: timestampFromDate(e.time), event: e.event });
}

/**
 * The session's state right after `event`: its current state after its last event; before that, what the
 * event implies (a turn's end, or a turn under way). States are not stored per event, and a replay needs one.
 */
export function stateAfter(event: SessionEventRecord, session: SessionRecord): Session_State {
  if (event.seq === session.lastSeq) return SESSION_STATES[session.state];
  const kind = event.event.kind;
  if (kind.case === 'turnCompleted') return SESSION_STATES[sessionStateAfterTurn(kind.value.status, isOneTurn(session))];
  return Session_State.RUNNING;
}
