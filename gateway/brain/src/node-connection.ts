import { create } from '@bufbuild/protobuf';
import { CancelTaskSchema, ConnectResponseSchema, type ConnectResponse } from '@foundation/contracts';
import { Outbox } from '@foundation/kit';
import type { CredentialOwner } from './executor-store.js';

type ResponseKind = Exclude<ConnectResponse['kind'], { case: undefined }>;

/** Work done for one task of the node (its tool calls), stopped together. */
interface TaskWork {
  stop: AbortController;
  running: number;
}

/**
 * One open BrainService.Connect stream of a node, on this instance: what the node offers, the messages
 * waiting to go to it, its dispatch loop, and the work done for its tasks. Dispatch for one node runs one
 * pass at a time (a request during a pass runs another pass after it), so the node is never offered more
 * than its free capacity.
 */
export class NodeConnection {
  readonly outbox = new Outbox<ConnectResponse>();
  /** Aborted when the stream ends, so work done for the node (a tool call) stops with it. */
  readonly #closed = new AbortController();
  readonly #taskWork = new Map<string, TaskWork>();
  /**
   * Tasks this stream was given and not yet seen to end. Only a hint (tasks the node held from an earlier
   * stream are missing) for choosing which node to offer a new task; the claim counts what the node runs.
   */
  readonly #assigned = new Set<string>();
  #dispatching: Promise<void> | undefined;
  #dispatchAgain = false;

  constructor(
    readonly owner: CredentialOwner,
    /** Identifies this stream among the node's successive ones (and in the executor row). */
    readonly connectionId: string,
    readonly engines: string[],
    readonly capacity: number,
    private readonly dispatchPass: (connection: NodeConnection) => Promise<void>,
  ) {}

  get executorId(): string {
    return this.owner.executorId;
  }

  get orgId(): string {
    return this.owner.orgId;
  }

  send(kind: ResponseKind): void {
    this.outbox.push(create(ConnectResponseSchema, { kind }));
  }

  /**
   * Runs `work` for one of the node's tasks (a tool call) with a signal aborted when the stream ends or
   * the task stops on the node, so nothing keeps running (a child agent) for a task nobody waits for.
   */
  async forTask<T>(taskId: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let entry = this.#taskWork.get(taskId);
    if (!entry) this.#taskWork.set(taskId, (entry = { stop: new AbortController(), running: 0 }));
    entry.running++;
    try {
      return await work(AbortSignal.any([this.#closed.signal, entry.stop.signal]));
    } finally {
      if (--entry.running === 0 && this.#taskWork.get(taskId) === entry) this.#taskWork.delete(taskId);
    }
  }

  /** How many tasks this stream runs, as far as it knows (see #assigned). */
  get load(): number {
    return this.#assigned.size;
  }

  /** The node was sent the task (AssignTask). */
  taskAssigned(taskId: string): void {
    this.#assigned.add(taskId);
  }

  /** The task stopped on the node (it reported its end): work done for it stops. */
  taskStopped(taskId: string): void {
    this.#assigned.delete(taskId);
    this.#taskWork.get(taskId)?.stop.abort();
    this.#taskWork.delete(taskId);
  }

  /** Tells the node to stop the task; work done for it stops as well. */
  cancelTask(taskId: string, reason: string): void {
    this.send({ case: 'cancelTask', value: create(CancelTaskSchema, { taskId, reason }) });
    this.taskStopped(taskId);
  }

  /** Ends the stream: cleanly, or with `error` as the status the node receives. */
  end(error?: unknown): void {
    this.outbox.end(error);
    this.#closed.abort();
  }

  /** Offers the node pending tasks; resolves when no pass is running or asked for any more. */
  requestDispatch(): Promise<void> {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return this.#dispatching;
    }
    this.#dispatching = (async () => {
      do {
        this.#dispatchAgain = false;
        if (this.outbox.ended) return;
        await this.dispatchPass(this);
      } while (this.#dispatchAgain);
    })().finally(() => {
      this.#dispatching = undefined;
    });
    return this.#dispatching;
  }
}
