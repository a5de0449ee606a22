import { Code } from '@connectrpc/connect';
import type { EventFeed } from '@foundation/event-feed';
import { rpcError } from '@foundation/kit';
import type { BrainTasks } from './brain-tasks.js';
import type { SessionRecord } from './session-record.js';
import type { NewSession, SessionStore } from './session-store.js';
import type { SessionTurn, WorkflowNodeAttempt } from './session-turn.js';

/**
 * The changes that involve the brain: a session's first turn, each follow-up, a cancellation. The rows are
 * written before the brain hears of the task (it may report on it at once), and removed again when it
 * refuses the task or cannot be reached: a failed call leaves nothing behind.
 */
export class SessionLifecycle {
  constructor(
    private readonly store: SessionStore,
    private readonly brain: BrainTasks,
    private readonly feed: EventFeed,
  ) {}

  /**
   * Opens a session and starts its first turn. A one-turn session (of an agent.run node attempt or a tool
   * call) that exists is returned; if it still waits, its task is handed to the brain again (the brain is
   * idempotent on the task id), since a crash may have come between the insert and the call. An agent.run
   * node attempt first cancels the node's earlier attempts that are still live (see `supersede`).
   */
  async open(orgId: string, request: NewSession & { prompt: string }): Promise<SessionRecord> {
    if (request.workflowNode) await this.supersede(orgId, request.workflowNode);
    const { session, turn, created } = await this.store.open(orgId, request);
    if (!created && session.state !== 'pending') return session;
    let executorId: string;
    try {
      executorId = await this.startTurn(orgId, { session, turn }, request.prompt);
    } catch (e) {
      await this.store.remove(orgId, session.id);
      throw e;
    }
    return executorId === '' ? this.store.get(orgId, session.id) : this.store.assigned(orgId, turn.taskId, executorId);
  }

  /** Starts the next turn of an IDLE session, resuming the engine's session on the same node. */
  async follow(orgId: string, sessionId: string, text: string): Promise<SessionRecord> {
    const started = await this.store.beginTurn(orgId, sessionId);
    let executorId: string;
    try {
      executorId = await this.startTurn(orgId, started, text);
    } catch (e) {
      await this.store.abandonTurn(orgId, sessionId, started.turn.taskId);
      throw e;
    }
    this.feed.notify(sessionId, started.session.lastSeq);
    return executorId === '' ? this.store.get(orgId, sessionId) : this.store.assigned(orgId, started.turn.taskId, executorId);
  }

  /**
   * Stops the turn under way (the brain first: if it cannot be reached, nothing changes and the caller
   * retries), then ends the session as CANCELLED. An ended session is returned as it is.
   */
  async cancel(orgId: string, sessionId: string, reason: string): Promise<SessionRecord> {
    for (;;) {
      const taskId = await this.store.activeTask(orgId, sessionId);
      if (taskId !== undefined) await this.brain.cancel(orgId, taskId, reason);
      const outcome = await this.store.cancel(orgId, sessionId, reason, taskId ?? '');
      if (!outcome) continue; // a follow-up turn started meanwhile: stop it too
      if (outcome.changed) this.feed.notify(sessionId, outcome.session.lastSeq);
      return outcome.session;
    }
  }

  /**
   * Cancels the sessions of the node's earlier attempts that have not ended. The run has moved on to
   * `node.attempt`, so nobody will read their outcome: their worker was killed (and another recovered the
   * run), or its CancelAgentRun was lost or is still on its way (a retry after a timeout). Left running,
   * such an agent holds its node's capacity and may edit the same workspace as the new one, which is why
   * this comes before the new session opens. A repeated start finds them ended and cancels nothing.
   */
  /**
   * Cancels the node's earlier attempts still under way. Refuses (ATTEMPT_SUPERSEDED) a start of an attempt
   * that arrives after a later attempt of the node started (a worker that lost the run, or a call that
   * waited long on the network): it would run a second agent beside the later one.
   */
  private async supersede(orgId: string, node: WorkflowNodeAttempt): Promise<void> {
    const attempts = await this.store.nodeAttempts(orgId, node);
    const latest = attempts.at(-1)?.attempt ?? 0;
    if (latest > node.attempt) {
      throw rpcError(
        Code.FailedPrecondition,
        'ATTEMPT_SUPERSEDED',
        `attempt ${node.attempt} of node ${node.nodeId} is superseded: attempt ${latest} of it was already started`,
      );
    }
    for (const earlier of attempts.filter((a) => a.live && a.attempt < node.attempt)) {
      const reason =
        `superseded by attempt ${node.attempt} of node ${node.nodeId}: ` +
        `attempt ${earlier.attempt} was still under way (its worker stopped, or its cancellation did not arrive)`;
      await this.cancel(orgId, earlier.sessionId, reason);
    }
  }

  /**
   * Hands the turn to the brain; returns the node it went to at once, or "". Only a later assignment (by a
   * sweep, or another brain instance) is reported through the sink's RecordTaskAssigned, so the session is
   * marked running once; the node's first event marks it as well if neither arrived.
   */
  private startTurn(orgId: string, { session, turn }: SessionTurn, prompt: string): Promise<string> {
    return this.brain.start({
      orgId,
      taskId: turn.taskId,
      engine: session.engine,
      executorId: session.executorId,
      workspace: session.workspace,
      prompt,
      resumeEngineSessionId: turn.turn === 1 ? '' : session.engineSessionId,
      toolBridge: session.toolBridge,
    });
  }
}
