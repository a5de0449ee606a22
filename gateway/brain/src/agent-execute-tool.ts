import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { TurnCompleted_Status, type AgentRunService, type ToolCall, type TurnCompleted } from '@foundation/contracts';
import { reasonOf, type Logger } from '@foundation/kit';
import { ToolCallError } from './tool-call-error.js';

const DEFAULT_TIMEOUT_SECONDS = 600;
const MAX_TIMEOUT_SECONDS = 3600;
/** How long to wait before watching again when the session service is briefly unreachable. */
const REWATCH_DELAY_MS = 500;
const CANCEL_TIMEOUT_MS = 10_000;
/** The session service's answers that are decisions about the request, passed on to the engine as they are. */
const REFUSALS = new Set([Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition]);

/** `{engine, prompt, workspace?, timeout_seconds?}`, with the defaults filled in. */
interface AgentExecuteArguments {
  engine: string;
  prompt: string;
  workspace: string;
  timeoutSeconds: number;
}

/**
 * `agent_execute`: one turn of another coding agent of the organization, run as a child session of the
 * calling task's session (through the session service, on any node offering the engine, the caller's own
 * included) and awaited to its TurnCompleted. The wait is bounded by `timeout_seconds`; when it runs out,
 * or the call is abandoned (the calling task stopped, the node's stream ended), the child is cancelled.
 */
export class AgentExecuteTool {
  constructor(
    private readonly agentRuns: Client<typeof AgentRunService>,
    private readonly log: Logger,
  ) {}

  /** `{text, sessionId, status}` of a successful turn; a ToolCallError (AGENT_<status>, …) otherwise. */
  async run(orgId: string, call: ToolCall, signal: AbortSignal): Promise<JsonValue> {
    const args = agentExecuteArguments(call);
    const deadline = AbortSignal.timeout(args.timeoutSeconds * 1000);
    const stop = AbortSignal.any([signal, deadline]);
    const sessionId = await this.start(orgId, call, args);
    let completed: TurnCompleted;
    try {
      completed = await this.watchTurnEnd(orgId, sessionId, stop);
    } catch (error) {
      if (error instanceof ToolCallError) throw error;
      // Nobody will wait for the child any more: it must not run on.
      const { cancelReason, failure } = abandonment(error, { deadline, stop }, args.timeoutSeconds);
      await this.cancel(orgId, sessionId, cancelReason);
      throw failure;
    }
    return outcome(sessionId, completed);
  }

  /**
   * Opens the child session (idempotent on the task and call id). Deliberately not abortable: once the
   * session service has started the child, its id is what cancelling it takes.
   */
  private async start(orgId: string, call: ToolCall, args: AgentExecuteArguments): Promise<string> {
    try {
      const { session } = await this.agentRuns.startToolAgent({
        orgId,
        parentTaskId: call.taskId,
        callId: call.callId,
        engine: args.engine,
        workspace: args.workspace,
        prompt: args.prompt,
      });
      return session!.id;
    } catch (error) {
      const e = ConnectError.from(error);
      if (REFUSALS.has(e.code)) throw new ToolCallError(reasonOf(e) ?? 'INVALID_FIELD', e.rawMessage);
      this.log.warn({ taskId: call.taskId, code: Code[e.code], error: e.rawMessage }, 'the session service did not start an agent_execute session');
      throw new ToolCallError('DEPENDENCY_UNAVAILABLE', 'the platform could not start the agent now; retry shortly');
    }
  }

  /** Follows the child from its first event, watching again after a dropped stream, until its turn ends. */
  private async watchTurnEnd(orgId: string, sessionId: string, signal: AbortSignal): Promise<TurnCompleted> {
    let afterSeq = 0n;
    for (;;) {
      try {
        for await (const { event } of this.agentRuns.watchAgentRun({ orgId, sessionId, afterSeq }, { signal })) {
          if (!event) continue;
          afterSeq = event.seq;
          if (event.event?.kind.case === 'turnCompleted') return event.event.kind.value;
        }
        // The session ended before the node reported the turn's end: someone cancelled it.
        throw new ToolCallError('AGENT_CANCELLED', `the agent's session ${sessionId} was cancelled before its turn finished`);
      } catch (error) {
        if (signal.aborted || !(error instanceof ConnectError) || error.code !== Code.Unavailable) throw error;
        await sleep(REWATCH_DELAY_MS, undefined, { signal });
      }
    }
  }

  /** Cancels the child; one the session service cannot cancel now ends when its own timeouts end it. */
  private async cancel(orgId: string, sessionId: string, reason: string): Promise<void> {
    await this.agentRuns.cancelAgentRun({ orgId, sessionId, reason }, { timeoutMs: CANCEL_TIMEOUT_MS }).catch((error: unknown) => {
      this.log.warn({ sessionId, error: ConnectError.from(error).rawMessage }, 'could not cancel an agent_execute session nobody waits for');
    });
  }
}

function outcome(sessionId: string, completed: TurnCompleted): JsonValue {
  if (completed.status === TurnCompleted_Status.SUCCESS) return { text: completed.resultText, sessionId, status: 'SUCCESS' };
  const status = completed.status === TurnCompleted_Status.UNSPECIFIED ? 'FAILED' : TurnCompleted_Status[completed.status];
  throw new ToolCallError(`AGENT_${status}`, completed.reason || `the agent's turn ended ${status.toLowerCase().replaceAll('_', ' ')}`);
}

/**
 * Why the wait for a child ended before its turn did: what its session records, and what the engine is
 * told. An unexpected error stays as it is (the bridge logs it and answers INTERNAL).
 */
function abandonment(
  error: unknown,
  { deadline, stop }: { deadline: AbortSignal; stop: AbortSignal },
  timeoutSeconds: number,
): { cancelReason: string; failure: unknown } {
  if (deadline.aborted) {
    return {
      cancelReason: `agent_execute stopped waiting after ${timeoutSeconds}s`,
      failure: new ToolCallError('AGENT_TIMEOUT', `the agent did not finish within ${timeoutSeconds}s, so it was cancelled`),
    };
  }
  if (stop.aborted) {
    return {
      cancelReason: 'the task that called agent_execute stopped',
      failure: new ToolCallError('CANCELLED', 'the calling task stopped, so the agent was cancelled'),
    };
  }
  if (error instanceof ConnectError) {
    return {
      cancelReason: 'agent_execute could not follow the session',
      failure: new ToolCallError('DEPENDENCY_UNAVAILABLE', `the agent's session could not be followed, so it was cancelled: ${error.rawMessage}`),
    };
  }
  return { cancelReason: 'agent_execute failed unexpectedly', failure: error };
}

/** The call's arguments; the session service checks what they say (engine, workspace, prompt) as for any session. */
function agentExecuteArguments(call: ToolCall): AgentExecuteArguments {
  const args = call.arguments;
  const engine = args?.['engine'];
  if (typeof engine !== 'string' || engine === '') {
    throw new ToolCallError('INVALID_FIELD', 'arguments.engine: name the engine, for example "gateway.claude.v2"');
  }
  const prompt = args?.['prompt'];
  if (typeof prompt !== 'string') throw new ToolCallError('INVALID_FIELD', 'arguments.prompt: must be the text for the agent');
  // The calling task's own workspace is not known here; each calling task gets a directory of its own.
  const workspace = args?.['workspace'] ?? `tool-agents/${call.taskId}`;
  if (typeof workspace !== 'string') {
    throw new ToolCallError('INVALID_FIELD', 'arguments.workspace: must be a directory relative to the node’s workspace root');
  }
  const timeoutSeconds = args?.['timeout_seconds'] ?? DEFAULT_TIMEOUT_SECONDS;
  if (typeof timeoutSeconds !== 'number' || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    throw new ToolCallError('INVALID_FIELD', `arguments.timeout_seconds: must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`);
  }
  return { engine, prompt, workspace, timeoutSeconds };
}
