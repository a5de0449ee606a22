import { create } from '@bufbuild/protobuf';
import { ConnectResponseSchema, type ConnectResponse } from '@foundation/contracts';
import { Outbox } from '@foundation/kit';
import type { CredentialOwner } from './executor-store.js';

type ResponseKind = Exclude<ConnectResponse['kind'], { case: undefined }>;

/**
 * One open BrainService.Connect stream of a node, on this instance: what the node offers, the messages
 * waiting to go to it, and its dispatch loop. Dispatch for one node runs one pass at a time (a request
 * during a pass runs another pass after it), so the node is never offered more than its free capacity.
 */
export class NodeConnection {
  readonly outbox = new Outbox<ConnectResponse>();
  /** Aborted when the stream ends, so work done for the node (a tool call) stops with it. */
  readonly #closed = new AbortController();
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

  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  send(kind: ResponseKind): void {
    this.outbox.push(create(ConnectResponseSchema, { kind }));
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
