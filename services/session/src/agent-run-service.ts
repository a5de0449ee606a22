import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { AgentRunService, CancelAgentRunRequest, StartAgentRunRequest, StartToolAgentRequest, WatchAgentRunRequest } from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { promptViolations, workspaceViolations } from '@foundation/agent-engines';
import { afterSeqViolations, assertValid, nameViolations, requireServiceCaller, uuidViolations } from '@foundation/kit';
import type { SessionLifecycle } from './session-lifecycle.js';
import { sessionMessage } from './session-messages.js';
import {
  assertSupportedEngine,
  optionalUuidViolations,
  titleOf,
} from './session-request-rules.js';
import type { SessionStore } from './session-store.js';
import { watchSessionEvents } from './session-watch.js';

const NODE_ID_MAX = 200;
const CALL_ID_MAX = 200;
const CANCELLED_BY_WORKFLOW = 'cancelled by its workflow run';
const CANCEL_REASON_MAX = 500;

/**
 * The AgentRunService handlers (internal): an `agent.run` node attempt (for the workflow worker) is a
 * one-turn session with the tool bridge on, whose end is the node's end; an `agent_execute` tool call (for
 * the brain) is a one-turn session without it, a child of the calling task's session.
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

  async startToolAgent(req: StartToolAgentRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('parent_task_id', req.parentTaskId), ...nameViolations('call_id', req.callId, CALL_ID_MAX)]);
    assertSupportedEngine(req.engine);
    assertValid([...workspaceViolations('workspace', req.workspace), ...promptViolations('prompt', req.prompt)]);
    const session = await this.lifecycle.open(req.orgId, {
      engine: req.engine,
      executorId: '',
      workspace: req.workspace,
      prompt: req.prompt,
      title: titleOf(req.prompt),
      // A child that could call agent_execute itself could fan out without bound.
      toolBridge: false,
      createdBy: '',
      toolCall: { parentTaskId: req.parentTaskId.toLowerCase(), callId: req.callId },
    });
    return { session: sessionMessage(session) };
  }

  async *watchAgentRun(req: WatchAgentRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('session_id', req.sessionId), ...afterSeqViolations(req.afterSeq)]);
    // A one-turn session ends with its turn, so watching it to its end is watching the turn.
    yield* watchSessionEvents(this.store, this.feed, req.orgId, req.sessionId, Number(req.afterSeq), ctx.signal);
  }

  async cancelAgentRun(req: CancelAgentRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('session_id', req.sessionId)]);
    await this.lifecycle.cancel(req.orgId, req.sessionId, req.reason.slice(0, CANCEL_REASON_MAX) || CANCELLED_BY_WORKFLOW);
    return {};
  }
}
