import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { AgentRunService, CancelAgentRunRequest, StartAgentRunRequest, WatchAgentRunRequest } from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { assertValid, nameViolations, requireServiceCaller, uuidViolations } from '@foundation/kit';
import type { SessionLifecycle } from './session-lifecycle.js';
import { sessionMessage } from './session-messages.js';
import {
  afterSeqViolations,
  assertSupportedEngine,
  optionalUuidViolations,
  promptViolations,
  titleOf,
  workspaceViolations,
} from './session-request-rules.js';
import type { SessionStore } from './session-store.js';
import { watchSessionEvents } from './session-watch.js';

const NODE_ID_MAX = 200;
const CANCELLED_BY_WORKFLOW = 'cancelled by its workflow run';

/**
 * The AgentRunService handlers (internal, execution only): an `agent.run` node attempt is a one-turn
 * session with the tool bridge on, whose end is the node's end.
 */
export class AgentRunServiceImpl implements ServiceImpl<typeof AgentRunService> {
  constructor(
    private readonly store: SessionStore,
    private readonly lifecycle: SessionLifecycle,
    private readonly feed: EventFeed,
  ) {}

  async startAgentRun(req: StartAgentRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('run_id', req.runId), ...nameViolations('node_id', req.nodeId, NODE_ID_MAX)]);
    assertSupportedEngine(req.engine);
    assertValid([
      ...(req.attempt < 1 ? [{ field: 'attempt', description: 'must be 1 or more' }] : []),
      ...optionalUuidViolations('executor_id', req.executorId),
      ...workspaceViolations('workspace', req.workspace),
      ...promptViolations('prompt', req.prompt),
    ]);
    const session = await this.lifecycle.open(req.orgId, {
      engine: req.engine,
      executorId: req.executorId.toLowerCase(),
      workspace: req.workspace,
      prompt: req.prompt,
      title: titleOf(req.prompt),
      toolBridge: true,
      createdBy: '',
      workflowNode: { runId: req.runId.toLowerCase(), nodeId: req.nodeId, attempt: req.attempt },
    });
    return { session: sessionMessage(session) };
  }

  async *watchAgentRun(req: WatchAgentRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('session_id', req.sessionId), ...afterSeqViolations(req.afterSeq)]);
    // An agent.run session ends with its turn, so watching it to its end is watching the turn.
    yield* watchSessionEvents(this.store, this.feed, req.orgId, req.sessionId, Number(req.afterSeq), ctx.signal);
  }

  async cancelAgentRun(req: CancelAgentRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('session_id', req.sessionId)]);
    await this.lifecycle.cancel(req.orgId, req.sessionId, CANCELLED_BY_WORKFLOW);
    return {};
  }
}
