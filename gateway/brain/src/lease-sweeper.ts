import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '@foundation/kit';
import type { BrainSignals } from './brain-signals.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { NodeConnection } from './node-connection.js';
import type { TaskCloser } from './task-closer.js';
import type { TaskRecord, TaskStore } from './task-store.js';

/** Tasks one pass settles at most; the rest wait for the next pass. */
const SWEEP_BATCH = 200;

/**
 * Every `intervalMs`, settles the tasks of every org whose lease lapsed (see TaskStore.expireLease),
 * finishes closing tasks whose end could not be recorded before, and offers pending tasks to the nodes
 * this instance holds that could take them, which also makes up for a dispatch signal Redis lost and for a
 * node that connected while tasks waited. Every instance sweeps; the
 * row locks make two sweeps of one task harmless.
 */
export class LeaseSweeper {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(
    private readonly tasks: TaskStore,
    private readonly closer: TaskCloser,
    private readonly registry: ConnectionRegistry,
    private readonly signals: BrainSignals,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep()
        .catch((error: Error) => this.log.warn({ error: error.message }, 'the lease sweep failed; retrying at the next interval'))
        .finally(() => (this.#sweeping = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  async sweep(): Promise<void> {
    for (const { orgId, taskId } of await this.tasks.toSweep(SWEEP_BATCH)) {
      let task = await this.tasks.read(orgId, taskId);
      if (task?.state === 'assigned') {
        const storedSeq = await this.storedSeq(task);
        if (storedSeq === undefined) continue;
        const expired = await this.tasks.expireLease(orgId, taskId, storedSeq);
        if (expired) this.log.info({ taskId, now: expired.state }, 'a task lease expired');
        task = expired ?? (await this.tasks.read(orgId, taskId));
      }
      if (task?.state === 'pending') this.signals.send({ kind: 'tasks-pending', orgId });
      if (task?.state === 'closing') await this.closer.finish(task);
    }
    await this.offerPending();
  }

  /**
   * What the session service stored of a task whose lease lapsed, when the brain recorded nothing: the
   * relay writes that down only after the first events' Ack, so a brain that stopped in between left 0
   * for a task with stored events, which must fail rather than run again. A task the session service
   * does not know has nothing stored. Undefined when it cannot tell now: the task is settled by a later sweep.
   */
  private async storedSeq(task: TaskRecord): Promise<number | undefined> {
    if (task.lastSeq > 0) return task.lastSeq;
    try {
      return await this.closer.persistedSeq(task);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return 0;
      this.log.warn({ taskId: task.taskId, error: (error as Error).message }, 'could not ask the session service what a lapsed task stored; the next sweep tries again');
      return undefined;
    }
  }

  /**
   * A dispatch pass for each node held here that could take a pending task: none when nothing is pending
   * (the common case), so idle nodes cost no claims.
   */
  private async offerPending(): Promise<void> {
    const nodes = new Set<NodeConnection>();
    for (const { orgId, engine, executorId } of await this.tasks.pendingKinds()) {
      const held = executorId ? [this.registry.get(executorId)] : this.registry.ofOrg(orgId);
      for (const node of held) if (node?.orgId === orgId && node.engines.includes(engine)) nodes.add(node);
    }
    await Promise.all([...nodes].map((node) => node.requestDispatch()));
  }
}
