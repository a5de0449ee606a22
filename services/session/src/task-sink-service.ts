import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { RecordTaskAssignedRequest, RecordTaskEventsRequest, SessionTaskSinkService, TaskEvent } from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { assertValid, requireServiceCaller, uuidViolations, type FieldViolation } from '@foundation/kit';
import type { SessionStore } from './session-store.js';

/** More than the brain's stream carries in one message (256), for a brain that batches a few together. */
const EVENTS_MAX = 1000;

/**
 * The SessionTaskSinkService handlers (internal, brain only): what the nodes report about the sessions'
 * tasks. Requests come from our own brain, yet they are checked like any input.
 */
export class TaskSinkServiceImpl implements ServiceImpl<typeof SessionTaskSinkService> {
  constructor(
    private readonly store: SessionStore,
    private readonly feed: EventFeed,
  ) {}

  async recordTaskAssigned(req: RecordTaskAssignedRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('task_id', req.taskId), ...uuidViolations('executor_id', req.executorId)]);
    const session = await this.store.assigned(req.orgId, req.taskId, req.executorId.toLowerCase());
    this.feed.notify(session.id, session.lastSeq);
    return {};
  }

  async recordTaskEvents(req: RecordTaskEventsRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('task_id', req.taskId), ...eventSeqViolations(req.events)]);
    const recorded = await this.store.recordEvents(req.orgId, req.taskId, req.events);
    if (recorded.appended > 0) this.feed.notify(recorded.session.id, recorded.session.lastSeq);
    return { persistedSeq: BigInt(recorded.persistedSeq) };
  }
}

/** The events must count 1, 2, 3, … upward without a hole, as the node numbers them. */
function eventSeqViolations(events: TaskEvent[]): FieldViolation[] {
  if (events.length > EVENTS_MAX) return [{ field: 'events', description: `must be at most ${EVENTS_MAX} per request` }];
  for (const [i, e] of events.entries()) {
    if (e.seq < 1n) return [{ field: `events[${i}].seq`, description: 'must be 1 or more' }];
    if (i > 0 && e.seq !== events[i - 1]!.seq + 1n) return [{ field: `events[${i}].seq`, description: `must be ${events[i - 1]!.seq + 1n}: events are consecutive` }];
  }
  return [];
}
