import { create } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { AssignTaskSchema, type SessionTaskSinkService } from '@foundation/contracts';
import type { Logger } from '@foundation/kit';
import type { NodeConnection } from './node-connection.js';
import { taskMessage } from './task-messages.js';
import type { TaskRecord, TaskStore } from './task-store.js';

/**
 * Hands pending tasks to a connected node: claims as many as it has room for (see TaskStore.claimFor),
 * sends each as AssignTask, and tells the session service which node took it. A task claimed for a
 * stream that dies before the node sees it is not lost: its lease lapses and it becomes pending again.
 */
export class TaskDispatcher {
  /**
   * Tasks StartTask is offering right now, with the node that took each once one has: StartTask's answer
   * tells the session service that node, so RecordTaskAssigned would only repeat the session's write.
   */
  readonly #offered = new Map<string, string | undefined>();

  constructor(
    private readonly tasks: TaskStore,
    private readonly sink: Client<typeof SessionTaskSinkService>,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** One pass for one node. Never rejects: a failed pass is logged, and the next signal or sweep tries again. */
  readonly dispatch = async (connection: NodeConnection): Promise<void> => {
    let claimed;
    try {
      claimed = await this.tasks.claimFor(connection.orgId, connection.executorId, connection.engines, connection.capacity, this.leaseMs);
    } catch (error) {
      this.log.warn({ executorId: connection.executorId, error: (error as Error).message }, 'could not dispatch tasks; the next sweep tries again');
      return;
    }
    for (const task of claimed) {
      connection.taskAssigned(task.taskId);
      connection.send({ case: 'assignTask', value: create(AssignTaskSchema, { task: taskMessage(task) }) });
      this.log.info({ taskId: task.taskId, executorId: connection.executorId, engine: task.engine }, 'task assigned');
      if (this.#offered.has(task.taskId)) {
        this.#offered.set(task.taskId, connection.executorId);
        continue;
      }
      // The session learns it is running from this, or at the latest from the node's first event.
      this.sink.recordTaskAssigned({ orgId: task.orgId, taskId: task.taskId, executorId: connection.executorId }).catch((error: Error) => {
        this.log.warn({ taskId: task.taskId, error: error.message }, 'could not tell the session service a task was assigned');
      });
    }
  };

  /**
   * Offers a task StartTask just queued to `nodes` (this instance's, in order of preference), one dispatch
   * pass at a time until one of them took it (usually the first does). The node's id, or undefined when
   * none did: the task stays pending for other instances' nodes and the sweeps.
   */
  async offer(task: TaskRecord, nodes: NodeConnection[]): Promise<string | undefined> {
    // A concurrent StartTask of the same id may be offering it already: the first one owns the entry.
    const owner = !this.#offered.has(task.taskId);
    if (owner) this.#offered.set(task.taskId, undefined);
    try {
      for (const node of nodes) {
        await node.requestDispatch();
        const takenBy = this.#offered.get(task.taskId);
        if (takenBy !== undefined) return takenBy;
      }
      return undefined;
    } finally {
      if (owner) this.#offered.delete(task.taskId);
    }
  }
}
