import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampNow } from '@bufbuild/protobuf/wkt';
import { AgentEventSchema, TaskEventSchema, TaskSchema, TurnCompleted_Status, TurnCompletedSchema, type Task, type TaskEvent } from '@foundation/contracts';
import type { ClosingStatus, TaskRecord } from './task-store.js';

/** The task as its node receives it in AssignTask. */
export function taskMessage(record: TaskRecord): Task {
  return create(TaskSchema, {
    taskId: record.taskId,
    leaseToken: record.leaseToken ?? '',
    engine: record.engine,
    workspace: record.workspace,
    prompt: record.prompt,
    resumeEngineSessionId: record.resumeEngineSessionId,
    idleTimeout: durationFromMs(record.idleTimeoutMs),
    wallClockTimeout: durationFromMs(record.wallClockTimeoutMs),
    toolBridge: record.toolBridge,
  });
}

/** The TurnCompleted the brain records for a task whose node never will (see TaskStore's `closing`). */
export function syntheticTurnCompleted(seq: number, status: ClosingStatus, reason: string): TaskEvent {
  return create(TaskEventSchema, {
    seq: BigInt(seq),
    time: timestampNow(),
    event: create(AgentEventSchema, {
      kind: {
        case: 'turnCompleted',
        value: create(TurnCompletedSchema, {
          status: status === 'cancelled' ? TurnCompleted_Status.CANCELLED : TurnCompleted_Status.FAILED,
          reason,
        }),
      },
    }),
  });
}

export function isTurnCompleted(event: TaskEvent): boolean {
  return event.event?.kind.case === 'turnCompleted';
}
