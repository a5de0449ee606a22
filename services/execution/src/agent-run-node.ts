import { toJson, type JsonValue as ProtoJsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { AgentEventSchema, TurnCompleted_Status, type AgentRunService, type TurnCompleted } from '@foundation/contracts';
import type { JsonValue } from '@foundation/connectors';
import { renderTemplate, type CompiledNode } from '@foundation/workflow-dsl';
import { NodeFailure } from './node-failure.js';
import type { NodeAttempt } from './node-executors.js';

type AgentRunConfig = Extract<CompiledNode, { type: 'agent.run' }>['config'];

/** How long to wait before watching again when the session service is briefly unreachable. */
const REWATCH_DELAY_MS = 500;

/**
 * Runs an `agent.run` node as a one-turn session on a node of the organization (through the session
 * service and the brain), copies the agent's events into the run's events as they are persisted, and
 * returns the turn's final message. Cancelling or timing out the attempt cancels the session.
 */
export class AgentRunNode {
  constructor(private readonly agentRuns: Client<typeof AgentRunService>) {}

  async run(attempt: NodeAttempt, config: AgentRunConfig): Promise<JsonValue> {
    const { orgId, runId, node, context, signal } = attempt;
    const prompt = await renderTemplate(config.prompt, context);
    if (typeof prompt !== 'string' || prompt.length === 0) {
      throw new NodeFailure('INVALID_PROMPT', 'the prompt must render to a non-empty string', false);
    }
    const workspace = config.workspace === undefined ? `workflow-runs/${runId}` : await renderTemplate(config.workspace, context);
    if (typeof workspace !== 'string') throw new NodeFailure('INVALID_WORKSPACE', 'the workspace must render to a string', false);
    const { session } = await this.agentRuns.startAgentRun(
      { orgId, runId, nodeId: node.id, attempt: attempt.attempt, engine: config.engine, workspace, prompt },
      { signal },
    );
    const sessionId = session!.id;
    attempt.log(`agent session ${sessionId} on ${config.engine}, workspace ${workspace}`);
    const cancel = () => void this.agentRuns.cancelAgentRun({ orgId, sessionId }).catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const completed = await this.watchUntilTurnEnds(attempt, sessionId);
      return outcome(sessionId, completed);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  /** Follows the session from its first event, watching again after a dropped stream, until the turn ends. */
  private async watchUntilTurnEnds(attempt: NodeAttempt, sessionId: string): Promise<TurnCompleted> {
    const { orgId, signal } = attempt;
    let afterSeq = 0n;
    for (;;) {
      try {
        for await (const { event } of this.agentRuns.watchAgentRun({ orgId, sessionId, afterSeq }, { signal })) {
          if (!event?.event) continue;
          afterSeq = event.seq;
          attempt.agentEvent(Number(event.seq), {
            sessionId,
            seq: Number(event.seq),
            event: toJson(AgentEventSchema, event.event) as ProtoJsonValue as JsonValue,
          });
          if (event.event.kind.case === 'turnCompleted') return event.event.kind.value;
        }
        throw new NodeFailure('AGENT_SESSION_ENDED', `session ${sessionId} ended without finishing its turn`, false);
      } catch (e) {
        if (signal.aborted || !(e instanceof ConnectError) || e.code !== Code.Unavailable) throw e;
        await new Promise((resolve) => setTimeout(resolve, REWATCH_DELAY_MS));
      }
    }
  }
}

function outcome(sessionId: string, completed: TurnCompleted): JsonValue {
  if (completed.status === TurnCompleted_Status.SUCCESS) {
    return { text: completed.resultText, sessionId, engineSessionId: completed.engineSessionId };
  }
  const status = TurnCompleted_Status[completed.status] ?? 'FAILED';
  const reason = completed.reason || `the agent's turn ended ${status.toLowerCase()}`;
  // A timed-out or cut-off turn may go better on another attempt; an agent that failed its task will not.
  const retryable = completed.status === TurnCompleted_Status.TIMEOUT;
  throw new NodeFailure(`AGENT_${status}`, reason, retryable);
}
