import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { SessionTaskSinkService } from '@foundation/contracts';
import type { Logger } from '@foundation/kit';
import { syntheticTurnCompleted } from './task-messages.js';
import type { TaskRecord, TaskStore } from './task-store.js';

/**
 * Ends `closing` tasks: records their synthetic TurnCompleted with the session service right after the
 * last persisted event, then marks them ended. When the session service cannot take it now, the task
 * stays `closing` and the lease sweeper tries again.
 */
export class TaskCloser {
  constructor(
    private readonly tasks: TaskStore,
    private readonly sink: Client<typeof SessionTaskSinkService>,
    private readonly log: Logger,
  ) {}

  /** True once the task is ended. */
  async finish(task: TaskRecord): Promise<boolean> {
    if (task.state !== 'closing') return false;
    try {
      // The brain's last_seq lags behind what the session service stored (the relay writes it only at a
      // task's first events and its end), so the end goes after the session service's last event. Nothing
      // can be appended meanwhile: a closing task has no lease, so no node's events are relayed.
      const seq = Math.max(task.lastSeq, await this.persistedSeq(task)) + 1;
      const persisted = await this.record(task, seq);
      await this.tasks.markClosed(task.orgId, task.taskId, Math.max(seq, persisted));
      return true;
    } catch (error) {
      // A task the session service does not know has no session to end: there is nothing to record.
      if (error instanceof ConnectError && error.code === Code.NotFound) {
        await this.tasks.markClosed(task.orgId, task.taskId, task.lastSeq);
        return true;
      }
      this.log.warn({ taskId: task.taskId, error: (error as Error).message }, 'could not record the end of a task; the sweeper retries');
      return false;
    }
  }

  /**
   * The seq up to which the session service stored the task's events (a batch of none records nothing). It
   * may be ahead of the task's `lastSeq`: the brain writes that down only at a task's first events and its
   * end, the first after their Ack.
   */
  async persistedSeq(task: TaskRecord): Promise<number> {
    const { persistedSeq } = await this.sink.recordTaskEvents({ orgId: task.orgId, taskId: task.taskId, events: [] });
    return Number(persistedSeq);
  }

  private async record(task: TaskRecord, seq: number): Promise<number> {
    const event = syntheticTurnCompleted(seq, task.closingStatus ?? 'failed', task.closingReason ?? 'ended by the brain');
    const { persistedSeq } = await this.sink.recordTaskEvents({ orgId: task.orgId, taskId: task.taskId, events: [event] });
    return Number(persistedSeq);
  }
}
