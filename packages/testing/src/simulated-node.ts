import { create } from '@bufbuild/protobuf';
import { ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  BrainService,
  ConnectRequestSchema,
  EngineInstallationSchema,
  HeartbeatSchema,
  HelloSchema,
  NodeFactsSchema,
  TaskLeaseSchema,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
} from '@foundation/contracts';

/** One message a node sends, by its kind. */
export type NodeRequest = Exclude<ConnectRequest['kind'], { case: undefined }>;
type ResponseCase = Exclude<ConnectResponse['kind']['case'], undefined>;
type ResponseOf<C extends ResponseCase> = Extract<ConnectResponse['kind'], { case: C }>['value'];

export interface SimulatedNodeOptions {
  baseUrl: string;
  /** Sent as "Authorization: Bearer <credential>"; omitted when undefined. */
  credential?: string;
  /** The first message; a Hello offering Claude Code with capacity 2 when unset, nothing when null. */
  first?: NodeRequest | null;
  /** Send a Heartbeat (listing `running`) this often. */
  heartbeatEveryMs?: number;
  /**
   * What the node sends whenever the stream can take another message and nothing given to `send` waits:
   * how the node-agent sends its outbox (no acknowledgement window; the transport's flow control is what
   * holds it back). Undefined when there is nothing now; `wake` says there may be something again.
   */
  pull?: () => NodeRequest | undefined;
}

/**
 * A node-agent as the brain sees it, over real gRPC (HTTP/2) with connect-node's client: it sends what the
 * test says and records everything the brain sends, so tests assert on the stream itself.
 */
export class SimulatedNode {
  readonly received: ConnectResponse[] = [];
  /** The stream's end: undefined when it ended cleanly, else the error status. */
  readonly ended: Promise<ConnectError | undefined>;
  /** Leases the automatic heartbeat lists. */
  readonly running = new Map<string, string>();
  readonly #queue: ConnectRequest[] = [];
  #wakeRequests: (() => void) | undefined;
  #hungUp = false;
  #abort = new AbortController();
  #waiters = new Set<() => void>();
  #heartbeat: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: SimulatedNodeOptions) {
    const client = createClient(BrainService, createGrpcTransport({ baseUrl: options.baseUrl }));
    const headers: Record<string, string> = options.credential === undefined ? {} : { authorization: `Bearer ${options.credential}` };
    const first = options.first === undefined ? { case: 'hello' as const, value: defaultHello() } : options.first;
    if (first) this.send(first);
    const responses = client.connect(this.#requests(options.pull), { headers, signal: this.#abort.signal });
    this.ended = (async () => {
      try {
        for await (const response of responses) {
          this.received.push(response);
          this.#notify();
        }
        return undefined;
      } catch (e) {
        return ConnectError.from(e);
      } finally {
        this.#done = true;
        clearInterval(this.#heartbeat);
        this.#notify();
      }
    })();
    if (options.heartbeatEveryMs) {
      this.#heartbeat = setInterval(() => this.heartbeat(), options.heartbeatEveryMs);
    }
  }

  send(kind: NodeRequest): void {
    if (this.#hungUp) return;
    this.#queue.push(create(ConnectRequestSchema, { kind }));
    this.wake();
  }

  /** The options' `pull` may have something to send again. */
  wake(): void {
    this.#wakeRequests?.();
  }

  heartbeat(): void {
    const running = [...this.running].map(([taskId, leaseToken]) => create(TaskLeaseSchema, { taskId, leaseToken }));
    this.send({ case: 'heartbeat', value: create(HeartbeatSchema, { running }) });
  }

  stopHeartbeats(): void {
    clearInterval(this.#heartbeat);
  }

  /** The first message of `kind` received so far or later that matches `where`; rejects after `timeoutMs`. */
  async next<C extends ResponseCase>(kind: C, where: (value: ResponseOf<C>) => boolean = () => true, timeoutMs = 5_000): Promise<ResponseOf<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((r) => r.kind.case === kind && where(r.kind.value as ResponseOf<C>));
      if (found) return found.kind.value as ResponseOf<C>;
      if (this.#done) throw new Error(`the stream ended without a ${kind} message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} message within ${timeoutMs} ms; received ${this.received.map((r) => r.kind.case).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  all<C extends ResponseCase>(kind: C): ResponseOf<C>[] {
    return this.received.filter((r) => r.kind.case === kind).map((r) => r.kind.value as ResponseOf<C>);
  }

  /** Half-closes the stream, as a node that stops cleanly. */
  async hangUp(): Promise<ConnectError | undefined> {
    this.#hungUp = true;
    this.wake();
    return this.ended;
  }

  /** Drops the connection, as a node that dies. */
  async kill(): Promise<void> {
    this.#abort.abort();
    await this.ended;
  }

  /** The request stream: what `send` queued first, then what `pull` gives, taken one message per write. */
  async *#requests(pull: (() => NodeRequest | undefined) | undefined): AsyncGenerator<ConnectRequest> {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued !== undefined) {
        yield queued;
        continue;
      }
      if (this.#hungUp) return;
      const pulled = pull?.();
      if (pulled !== undefined) {
        yield create(ConnectRequestSchema, { kind: pulled });
        continue;
      }
      await new Promise<void>((resolve) => (this.#wakeRequests = resolve));
      this.#wakeRequests = undefined;
    }
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }
}

export function defaultHello(overrides: Partial<Omit<Hello, '$typeName' | '$unknown'>> = {}): Hello {
  return create(HelloSchema, {
    facts: create(NodeFactsSchema, { hostname: 'build-box', os: 'linux', arch: 'x64', agentVersion: '0.1.0' }),
    engines: [create(EngineInstallationSchema, { engine: 'gateway.claude.v2', version: '2.1.276 (Claude Code)' })],
    capacity: 2,
    ...overrides,
  });
}
