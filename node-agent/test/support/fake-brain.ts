import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  AckSchema,
  BrainService,
  ConnectResponseSchema,
  ErrorInfoSchema,
  PairingService,
  WelcomeSchema,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
  type PairRequest,
  type PairResponseSchema,
  type TaskEvent,
} from '@foundation/contracts';

/** An error the way the platform returns it: a code and an ErrorInfo reason. */
export function platformError(code: Code, reason: string, message: string): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: 'foundation.dev' }) }]);
}

/** One node stream as the fake brain sees it. */
export class FakeNodeStream {
  readonly received: ConnectRequest[] = [];
  hello: Hello | undefined;
  private readonly outgoing: ConnectResponse[] = [];
  private wake: (() => void) | undefined;
  private ended: ConnectError | null | undefined;

  send(response: MessageInitShape<typeof ConnectResponseSchema>): void {
    this.outgoing.push(create(ConnectResponseSchema, response));
    this.wake?.();
  }

  /** Ends the stream, with an error or cleanly (null). */
  end(error: ConnectError | null = null): void {
    this.ended = error;
    this.wake?.();
  }

  get open(): boolean {
    return this.ended === undefined;
  }

  async *responses(): AsyncGenerator<ConnectResponse> {
    for (;;) {
      const next = this.outgoing.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended !== undefined) {
        if (this.ended !== null) throw this.ended;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

export interface FakeBrainOptions {
  /** Answers Pair; default: a fixed node. */
  pair?: (request: PairRequest) => MessageInitShape<typeof PairResponseSchema>;
  /** Throws to refuse a credential; default accepts "fnd_node_test". */
  authorize?: (authorization: string | null) => void;
  /** Milliseconds of heartbeat interval in Welcome. */
  heartbeatIntervalMs?: number;
}



/**
 * A stand-in for the brain over real gRPC (HTTP/2 cleartext), just enough of brain.proto's protocol to test
 * the daemon: Pair, Hello/Welcome with acks of what it persisted, events deduplicated by (task, seq) and
 * acknowledged, and test hooks to assign, cancel, cut streams and stop the whole server.
 */
export class FakeBrain {
  readonly streams: FakeNodeStream[] = [];
  /** Persisted events per task, deduplicated by seq. */
  readonly persisted = new Map<string, TaskEvent[]>();
  /** Every (task, seq) received, duplicates included. */
  readonly receivedSeqs: Array<[string, bigint]> = [];
  readonly pairRequests: PairRequest[] = [];
  /** Held tasks every Welcome tells the node to drop (the brain no longer gives it them). */
  readonly droppedTaskIds = new Set<string>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private listeners: Array<() => void> = [];
  private server: Http2Server | undefined;
  port = 0;

  constructor(private readonly options: FakeBrainOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens, on the previous port when restarted. */
  async start(): Promise<void> {
    const routes = (router: ConnectRouter) => {
      router.service(PairingService, {
        pair: (request) => {
          this.pairRequests.push(request);
          return this.options.pair?.(request) ?? { executorId: 'node-1', orgId: 'org-1', credential: 'fnd_node_test' };
        },
      });
      router.service(BrainService, { connect: (requests, context) => this.connect(requests, context) });
    };
    const server = createServer(connectNodeAdapter({ routes }));
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Kills the server the way a crash does: every connection dropped at once. */
  async stop(): Promise<void> {
    for (const stream of this.streams) if (stream.open) stream.end(new ConnectError('brain stopping', Code.Unavailable));
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    this.server = undefined;
  }

  get current(): FakeNodeStream | undefined {
    return this.streams.filter((stream) => stream.open).at(-1);
  }

  /** Resolves once `predicate` holds, re-checked whenever the brain receives something. */
  async until<T>(predicate: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`fake brain: condition not met within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  events(taskId: string): TaskEvent[] {
    return this.persisted.get(taskId) ?? [];
  }

  private notify(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  private connect(requests: AsyncIterable<ConnectRequest>, context: HandlerContext): AsyncIterable<ConnectResponse> {
    const authorize =
      this.options.authorize ??
      ((authorization: string | null) => {
        if (authorization !== 'Bearer fnd_node_test') throw platformError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'unknown node credential');
      });
    authorize(context.requestHeader.get('authorization'));
    const stream = new FakeNodeStream();
    this.streams.push(stream);
    void this.read(stream, requests);
    this.notify();
    return stream.responses();
  }

  private async read(stream: FakeNodeStream, requests: AsyncIterable<ConnectRequest>): Promise<void> {
    try {
      for await (const request of requests) {
        stream.received.push(request);
        if (request.kind.case === 'hello') this.welcome(stream, request.kind.value);
        if (request.kind.case === 'taskEvents') this.persist(stream, request.kind.value.taskId, request.kind.value.events);
        this.notify();
      }
    } catch {
      // The node went away; the test looks at what arrived.
    }
    if (stream.open) stream.end();
    this.notify();
  }

  private welcome(stream: FakeNodeStream, hello: Hello): void {
    stream.hello = hello;
    const held = hello.heldTasks.filter((task) => !this.droppedTaskIds.has(task.taskId));
    const acks = held.map((held) => create(AckSchema, { taskId: held.taskId, seq: BigInt(this.events(held.taskId).length) }));
    const intervalMs = this.options.heartbeatIntervalMs ?? 10_000;
    stream.send({
      kind: {
        case: 'welcome',
        value: create(WelcomeSchema, {
          executorId: 'node-1',
          orgId: 'org-1',
          heartbeatInterval: { seconds: BigInt(Math.floor(intervalMs / 1000)), nanos: (intervalMs % 1000) * 1e6 },
          acks,
          droppedTaskIds: hello.heldTasks.filter((task) => this.droppedTaskIds.has(task.taskId)).map((task) => task.taskId),
        }),
      },
    });
  }

  private persist(stream: FakeNodeStream, taskId: string, events: TaskEvent[]): void {
    const stored = this.persisted.get(taskId) ?? [];
    this.persisted.set(taskId, stored);
    for (const event of events) {
      this.receivedSeqs.push([taskId, event.seq]);
      if (event.seq === BigInt(stored.length + 1)) stored.push(event);
      else if (event.seq > BigInt(stored.length + 1)) throw new Error(`gap: task ${taskId} got seq ${event.seq} after ${stored.length}`);
    }
    stream.send({ kind: { case: 'ack', value: { taskId, seq: BigInt(stored.length) } } });
  }
}
