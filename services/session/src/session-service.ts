import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type {
  CancelSessionRequest,
  CloseSessionRequest,
  CreateSessionRequest,
  GetSessionRequest,
  ListSessionEventsRequest,
  ListSessionsRequest,
  SendMessageRequest,
  SessionService,
  WatchSessionRequest,
} from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { promptViolations, workspaceViolations } from '@foundation/agent-engines';
import { afterSeqViolations, assertValid, pageOf, readPage, requireCaller, requireTenant, uuidViolations } from '@foundation/kit';
import { sessionEventMessage, sessionMessage } from './session-messages.js';
import type { SessionLifecycle } from './session-lifecycle.js';
import {
  assertSupportedEngine,
  eventsPageSizeViolations,
  optionalUuidViolations,
  titleOf,
} from './session-request-rules.js';
import type { SessionStore } from './session-store.js';
import { watchSessionEvents } from './session-watch.js';

const EVENTS_PAGE_DEFAULT = 100;
const CANCELLED_BY_USER = 'cancelled by a user';

/** The SessionService handlers: a member of the organization opens, follows, reads and ends sessions. */
export class SessionServiceImpl implements ServiceImpl<typeof SessionService> {
  constructor(
    private readonly store: SessionStore,
    private readonly lifecycle: SessionLifecycle,
    private readonly feed: EventFeed,
  ) {}

  async createSession(req: CreateSessionRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertSupportedEngine(req.engine);
    assertValid([
      ...optionalUuidViolations('executor_id', req.executorId),
      ...workspaceViolations('workspace', req.workspace),
      ...promptViolations('prompt', req.prompt),
    ]);
    const session = await this.lifecycle.open(tenant.orgId, {
      engine: req.engine,
      executorId: req.executorId.toLowerCase(),
      workspace: req.workspace,
      prompt: req.prompt,
      title: titleOf(req.prompt),
      toolBridge: req.toolBridge,
      createdBy: requireCaller(ctx).userId,
    });
    return { session: sessionMessage(session) };
  }

  async sendMessage(req: SendMessageRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('session_id', req.sessionId), ...promptViolations('text', req.text)]);
    return { session: sessionMessage(await this.lifecycle.follow(tenant.orgId, req.sessionId, req.text)) };
  }

  async getSession(req: GetSessionRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('session_id', req.sessionId));
    return { session: sessionMessage(await this.store.get(tenant.orgId, req.sessionId)) };
  }

  async listSessions(req: ListSessionsRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    const window = readPage(req.page);
    const page = pageOf(await this.store.list(tenant.orgId, window), window, (s) => ({ key: s.id, id: s.id }));
    return { sessions: page.items.map(sessionMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async listSessionEvents(req: ListSessionEventsRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('session_id', req.sessionId), ...afterSeqViolations(req.afterSeq), ...eventsPageSizeViolations(req.pageSize)]);
    const limit = req.pageSize === 0 ? EVENTS_PAGE_DEFAULT : req.pageSize;
    const { events } = await this.store.snapshot(tenant.orgId, req.sessionId, Number(req.afterSeq), limit + 1);
    return { events: events.slice(0, limit).map(sessionEventMessage), more: events.length > limit };
  }

  async *watchSession(req: WatchSessionRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('session_id', req.sessionId), ...afterSeqViolations(req.afterSeq)]);
    yield* watchSessionEvents(this.store, this.feed, tenant.orgId, req.sessionId, Number(req.afterSeq), ctx.signal);
  }

  async cancelSession(req: CancelSessionRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('session_id', req.sessionId));
    return { session: sessionMessage(await this.lifecycle.cancel(tenant.orgId, req.sessionId, CANCELLED_BY_USER)) };
  }

  async closeSession(req: CloseSessionRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('session_id', req.sessionId));
    const session = await this.store.close(tenant.orgId, req.sessionId);
    this.feed.notify(session.id, session.lastSeq);
    return { session: sessionMessage(session) };
  }
}
