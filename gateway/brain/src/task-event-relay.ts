import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { MAX_EVENTS_PER_MESSAGE } from '@foundation/agent-engines';
import { AckSchema, type SessionTaskSinkService, type TaskEvent, type TaskEvents } from '@foundation/contracts';
import { isUuid, reasonOf, rpcError, type Logger } from '@foundation/kit';
import type { NodeConnection } from './node-connection.js';
import type { TaskCloser } from './task-closer.js';
import { isTurnCompleted } from './task-messages.js';
import type { TaskLeaseRef, TaskStore } from './task-store.js';

/**
 * Why the brain ends a task the session service has no session for. TASK_NOT_HELD makes the node drop the
 * task without reporting on it: nobody could store what it reports.
 */
const ORPHANED_TASK_REASON = 'TASK_NOT_HELD: the task has no session any more (its session was removed), so the brain ended it';

/**
 * Moves a node's task events to the session service and acknowledges what it persisted. The Ack goes out
 * only after the session service answered, so an event the node no longer keeps is always stored; when
 * the session service cannot take events now, nothing is acknowledged and the node sends them again after
 * it reconnects. Events at or below the seq the brain recorded as persisted are not forwarded again (the
 * session service skips any others it already stored). A task the session
 * service does not know (its session rows were removed, e.g. after StartTask timed out on the session's
 * side) would be resent forever: the brain ends it instead.
 *
 * Several TaskEvents messages of one task read back to back (see `continuesMerge`) are relayed as one:
 * one lease check, one RecordTaskEvents, one Ack for all of them.
 */
export class TaskEventRelay {
  constructor(
    private readonly tasks: TaskStore,
    private readonly sink: Client<typeof SessionTaskSinkService>,
    private readonly closer: TaskCloser,
    private readonly log: Logger,
  ) {}

  /** `messages`: one, or several of the same task under the same lease whose events continue each other's seqs. */
  async relay(connection: NodeConnection, messages: readonly TaskEvents[]): Promise<void> {
    for (const { events } of messages) {
      if (events.length > MAX_EVENTS_PER_MESSAGE) {
        throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', `TaskEvents carried ${events.length} events; send at most ${MAX_EVENTS_PER_MESSAGE} per message`);
      }
    }
    const [first] = messages;
    const message = messages.length === 1 ? first! : { ...first!, events: messages.flatMap((m) => m.events) };
    const lease = { taskId: message.taskId, leaseToken: message.leaseToken };
    const task = await this.tasks.held(connection.orgId, connection.executorId, lease);
    if (!task) {
      await this.answerUnheld(connection, message);
      return;
    }
    const fresh = message.events.filter((e) => Number(e.seq) > task.lastSeq);
    if (fresh.length === 0) {
      sendAck(connection, task.taskId, task.lastSeq);
      return;
    }
    let persistedSeq: number;
    try {
      persistedSeq = await this.record(connection.orgId, task.taskId, fresh);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) {
        await this.endOrphaned(connection, lease);
        return;
      }
      this.log.warn({ taskId: task.taskId, error: (error as Error).message }, 'the session service did not take task events; they stay unacknowledged');
      return;
    }
    // The brain writes down what the session service persisted only when a decision reads it. The session
    // service keeps the authoritative seq (and stores each event once, however often it is sent), so the
    // brain's `last_seq` needs to be exact only where a lease decision reads it — none persisted (the task
    // may go back to pending) or some (it fails) — and once the turn completed (the task ends here, and
    // acknowledges late resends). In between it may lag: a Welcome then acknowledges less than is stored
    // (the node ignores an Ack below its own) and the closer asks the session service where the end goes.
    if (fresh.some((e) => isTurnCompleted(e) && Number(e.seq) <= persistedSeq)) {
      // The task ends before the node hears it may forget the turn: a late resend then finds it ended.
      await this.tasks.recordPersisted(connection.orgId, connection.executorId, lease, persistedSeq, true);
      sendAck(connection, task.taskId, persistedSeq);
      void connection.requestDispatch();
      return;
    }
    sendAck(connection, task.taskId, persistedSeq);
    if (task.lastSeq === 0) await this.recordFirstPersisted(connection, lease, persistedSeq);
  }

  /**
   * Writes down that a task has persisted events, after their Ack: the events are stored by then (the Ack
   * waits for the session service), and the write only feeds the lease decision, which does not rely on
   * it alone — the sweeper asks the session service before it returns a lapsed task with none recorded to
   * pending (LeaseSweeper). Awaited before the next message of the stream is handled, so whatever the node
   * sends next (a TaskRejected, more events) meets it written. A failure is only logged: the node's next
   * events write it again, and the sweeper makes up for it.
   */
  private async recordFirstPersisted(connection: NodeConnection, lease: TaskLeaseRef, persistedSeq: number): Promise<void> {
    try {
      await this.tasks.recordPersisted(connection.orgId, connection.executorId, lease, persistedSeq, false);
    } catch (error) {
      this.log.warn({ taskId: lease.taskId, error: (error as Error).message }, 'could not record that a task has persisted events; its next events or the lease sweeper make up for it');
    }
  }

  /**
   * Stores events with the session service and returns its persisted seq. A request it refuses as too
   * large (a merge of unusually large events) is split in halves, sent in order, rather than refused
   * again on every resend; a single event refused so is the node's to fix (the node-agent truncates
   * events to 1 MiB).
   */
  private async record(orgId: string, taskId: string, events: TaskEvent[]): Promise<number> {
    try {
      return Number((await this.sink.recordTaskEvents({ orgId, taskId, events })).persistedSeq);
    } catch (error) {
      if (events.length === 1 || reasonOf(error) !== 'REQUEST_TOO_LARGE') throw error;
      const half = Math.ceil(events.length / 2);
      const firstHalf = events.slice(0, half);
      const persistedSeq = await this.record(orgId, taskId, firstHalf);
      // Less than the first half is stored (the turn had ended there): the second half would not continue it.
      if (persistedSeq < Number(firstHalf[half - 1]!.seq)) return persistedSeq;
      return this.record(orgId, taskId, events.slice(half));
    }
  }

  /** Ends a task the session service has no session for, frees its place on the node, and tells the node to drop it. */
  private async endOrphaned(connection: NodeConnection, lease: TaskLeaseRef): Promise<void> {
    this.log.warn({ taskId: lease.taskId, executorId: connection.executorId }, 'the session service has no session for a task; ending it');
    const closing = await this.tasks.closeHeld(connection.orgId, connection.executorId, lease, ORPHANED_TASK_REASON);
    if (closing) await this.closer.finish(closing);
    connection.cancelTask(lease.taskId, ORPHANED_TASK_REASON);
    void connection.requestDispatch();
  }

  /**
   * Events of a task this node does not hold. When the node itself ended the task and only lost the last
   * Ack, the events are all persisted: acknowledge them again. Otherwise the node must stop the task.
   */
  private async answerUnheld(connection: NodeConnection, message: TaskEvents): Promise<void> {
    const task = isUuid(message.taskId) ? await this.tasks.read(connection.orgId, message.taskId) : undefined;
    const lastSeq = Math.max(0, ...message.events.map((e) => Number(e.seq)));
    const endedHere = task?.state === 'ended' && task.assignedExecutorId === connection.executorId && task.leaseToken === message.leaseToken;
    if (task && endedHere && lastSeq <= task.lastSeq) {
      sendAck(connection, task.taskId, task.lastSeq);
      return;
    }
    connection.cancelTask(message.taskId, 'TASK_NOT_HELD: this node does not hold the task (its lease expired, it ended, or it was never assigned here)');
  }
}

function sendAck(connection: NodeConnection, taskId: string, seq: number): void {
  connection.send({ case: 'ack', value: create(AckSchema, { taskId, seq: BigInt(seq) }) });
}
