import { create } from '@bufbuild/protobuf';
import { AgentEventSchema, RawEventSchema, TurnCompleted_Status, TurnCompletedSchema, type AgentEvent } from '@foundation/contracts';

/** The TurnCompleted(FAILED) the node-agent itself reports when a turn cannot end the engine's way. */
export function failedTurn(reason: string): AgentEvent {
  return create(AgentEventSchema, {
    kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status: TurnCompleted_Status.FAILED, reason }) },
  });
}

/** The TurnCompleted(CANCELLED) of a turn cancelled before its engine started. */
export function cancelledTurn(reason: string): AgentEvent {
  return create(AgentEventSchema, {
    kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status: TurnCompleted_Status.CANCELLED, reason }) },
  });
}

/** A stand-in for an event too large for the stream: its JSON cut short, marked truncated. */
export function truncatedEvent(json: string, keepChars: number): AgentEvent {
  return create(AgentEventSchema, {
    kind: { case: 'raw', value: create(RawEventSchema, { line: json.slice(0, keepChars), truncated: true }) },
  });
}

export function isTurnCompleted(event: AgentEvent): boolean {
  return event.kind.case === 'turnCompleted';
}
