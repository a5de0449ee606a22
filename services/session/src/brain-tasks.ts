import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { TaskService } from '@foundation/contracts';
import { rpcError, type Logger } from '@foundation/kit';

/** A turn as the brain runs it. */
export interface TurnTask {
  orgId: string;
  taskId: string;
  engine: string;
  executorId: string;
  workspace: string;
  prompt: string;
  resumeEngineSessionId: string;
  toolBridge: boolean;
}

/** The brain's answers that are decisions about the request; anything else means it could not answer. */
const DECISIONS = new Set([Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition]);

/**
 * The brain's TaskService as the session service uses it. A decision of the brain (an unknown executor,
 * one without the engine) reaches the caller as the brain gave it; a brain that does not answer in time
 * or at all becomes UNAVAILABLE (DEPENDENCY_UNAVAILABLE), so the caller can undo what it wrote.
 */
export class BrainTasks {
  constructor(
    private readonly tasks: Client<typeof TaskService>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Queues the turn; returns the node it went to at once, or "" while it waits for one. */
  async start(task: TurnTask): Promise<string> {
    try {
      const res = await this.tasks.startTask({ ...task }, { timeoutMs: this.timeoutMs });
      return res.executorId;
    } catch (e) {
      throw this.refusalOrOutage(e, task.taskId, 'the turn was not started');
    }
  }

  /** Stops the task; a task the brain does not know has nothing to stop. */
  async cancel(orgId: string, taskId: string, reason: string): Promise<void> {
    try {
      await this.tasks.cancelTask({ orgId, taskId, reason }, { timeoutMs: this.timeoutMs });
    } catch (e) {
      if (ConnectError.from(e).code === Code.NotFound) return;
      throw this.refusalOrOutage(e, taskId, 'the session was not cancelled');
    }
  }

  private refusalOrOutage(error: unknown, taskId: string, consequence: string): ConnectError {
    const e = ConnectError.from(error);
    if (DECISIONS.has(e.code)) return e;
    this.log.warn({ taskId, code: Code[e.code], error: e.rawMessage }, 'the brain did not answer a task call');
    return rpcError(Code.Unavailable, 'DEPENDENCY_UNAVAILABLE', `the brain (which hands turns to nodes) is unreachable, so ${consequence}; retry shortly`);
  }
}
