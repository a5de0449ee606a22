import type { Logger } from '@foundation/kit';
import type { BrainSignals } from './brain-signals.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { NodeConnection } from './node-connection.js';
import type { TaskCloser } from './task-closer.js';
import type { TaskStore } from './task-store.js';

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
      const expired = await this.tasks.expireLease(orgId, taskId);
      if (expired) this.log.info({ taskId, now: expired.state }, 'a task lease expired');
      const task = expired ?? (await this.tasks.read(orgId, taskId));
      if (task?.state === 'pending') this.signals.send({ kind: 'tasks-pending', orgId });
      if (task?.state === 'closing') await this.closer.finish(task);
    }
    await this.offerPending();
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
