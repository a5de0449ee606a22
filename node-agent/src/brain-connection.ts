import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import {
  BrainService,
  ConnectRequestSchema,
  HeartbeatSchema,
  TaskEventsSchema,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
  type Task,
  type TaskLease,
  type ToolResult,
  type Welcome,
} from '@foundation/contracts';
import { Wakeup } from '@foundation/event-feed/wakeup';
import type { Logger } from 'pino';
import type { EventOutbox } from './event-outbox.js';
import { createPlatformTransport } from './platform-transport.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';
import { describeRpcError, reasonOf } from './rpc-error-reason.js';

/** Used when a Welcome leaves the heartbeat interval unset (or zero). */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
/** A brain that accepts the stream but says nothing for this long is treated as down. */
const WELCOME_TIMEOUT_MS = 30_000;
/** A connection that stayed up this long after Welcome resets the backoff. */
const HEALTHY_CONNECTION_MS = 10_000;
/** Credential errors that no retry can fix: the node has to be paired again. */
const CREDENTIAL_REASONS = new Set(['NODE_REVOKED', 'CREDENTIAL_INVALID', 'CREDENTIAL_MISSING']);

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'online' }
  | { kind: 'retrying'; delayMs: number; error: string }
  | { kind: 'stopped'; reason: string };

/** Why `run` returned. */
export type ConnectionEnd =
  | { kind: 'stopped' }
  /** The platform refused the credential (revoked node, unknown credential): pair again. */
  | { kind: 'credential-rejected'; reason: string; message: string }
  /** Another daemon connected with this node's credential and the brain kept that one. */
  | { kind: 'replaced'; message: string };

export interface BrainConnectionHandlers {
  /** The Hello of a new connection, with the tasks held at that moment. */
  hello(): Hello;
  assign(task: Task): void;
  cancel(taskId: string, reason: string): void;
  /** The brain no longer gives the node this task: stop it and forget its events. */
  drop(taskId: string, reason: string): void;
  toolResult(result: ToolResult): void;
  runningLeases(): TaskLease[];
  connected(): void;
  disconnected(): void;
  stateChanged(state: ConnectionState): void;
}

export interface BrainConnectionOptions {
  server: string;
  credential: string;
  outbox: EventOutbox;
  backoff: ReconnectBackoff;
  handlers: BrainConnectionHandlers;
  log: Logger;
}

/** One BrainService.Connect stream and what it still has to send. */
interface StreamSession {
  controls: ConnectRequest[];
  welcomed: boolean;
  ended: boolean;
  wakeup: Wakeup;
  /** Aborted when the stream is over, so the sending loop stops waiting. */
  closed: AbortSignal;
}

type AttemptEnd = { kind: 'retry'; error: string; healthy: boolean } | ConnectionEnd;

/**
 * The node's side of BrainService.Connect: Hello, Welcome, heartbeats with the running tasks' leases, the
 * outbox's events in order (re-sent from the acknowledged seq on every new stream), and the brain's
 * assignments, acks, cancellations and tool results handed to the daemon. Any end of the stream is
 * followed by a reconnect after a backoff with full jitter, except a rejected credential or a newer
 * connection of the same node, which no retry can fix.
 */
export class BrainConnection {
  private session: StreamSession | undefined;

  constructor(private readonly options: BrainConnectionOptions) {}

  get online(): boolean {
    return this.session?.welcomed === true;
  }

  /** Connects and reconnects until `signal` aborts or the connection cannot go on. */
  async run(signal: AbortSignal): Promise<ConnectionEnd> {
    const { backoff, handlers, log } = this.options;
    while (!signal.aborted) {
      handlers.stateChanged({ kind: 'connecting' });
      const end = await this.connectOnce(signal);
      if (end.kind !== 'retry') {
        if (end.kind !== 'stopped') handlers.stateChanged({ kind: 'stopped', reason: end.message });
        return end;
      }
      if (signal.aborted) break;
      if (end.healthy) backoff.reset();
      const delayMs = backoff.nextDelayMs();
      log.warn({ error: end.error, retryInMs: delayMs }, 'brain connection lost; reconnecting');
      handlers.stateChanged({ kind: 'retrying', delayMs, error: end.error });
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
    return { kind: 'stopped' };
  }

  /** Puts a message on the stream; false when there is no welcomed connection to carry it. */
  send(message: ConnectRequest): boolean {
    const session = this.session;
    if (session === undefined || !session.welcomed) return false;
    session.controls.push(message);
    session.wakeup.wake();
    return true;
  }

  /** Waits, at most `timeoutMs`, until the brain acknowledged every event in the outbox. */
  async waitUntilDelivered(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.options.outbox.heldTasks().length > 0) {
      if (Date.now() >= deadline || !this.online) return false;
      await sleep(50);
    }
    return true;
  }

  private async connectOnce(signal: AbortSignal): Promise<AttemptEnd> {
    const { server, credential, outbox, handlers, log } = this.options;
    const platform = createPlatformTransport({ server, credential });
    const client = createClient(BrainService, platform.transport);
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort);
    const session: StreamSession = { controls: [], welcomed: false, ended: false, wakeup: new Wakeup(), closed: controller.signal };
    this.session = session;
    outbox.rewind();
    const stopWatchingOutbox = outbox.onChange(() => session.wakeup.wake());
    let heartbeat: NodeJS.Timeout | undefined;
    let welcomedAt: number | undefined;
    let welcomeTimedOut = false;
    const welcomeTimer = setTimeout(() => {
      welcomeTimedOut = true;
      controller.abort();
    }, WELCOME_TIMEOUT_MS);
    try {
      const responses = client.connect(this.outgoing(session, handlers.hello()), { signal: controller.signal });
      for await (const response of responses) {
        if (response.kind.case === 'welcome') {
          clearTimeout(welcomeTimer);
          welcomedAt = Date.now();
          heartbeat = this.welcome(session, response.kind.value);
        } else {
          this.dispatch(response);
        }
      }
      return { kind: 'retry', error: 'the server ended the stream', healthy: isHealthy(welcomedAt) };
    } catch (error) {
      if (signal.aborted) return { kind: 'stopped' };
      if (welcomeTimedOut) return { kind: 'retry', error: `no Welcome within ${WELCOME_TIMEOUT_MS / 1000}s`, healthy: false };
      return classify(error, isHealthy(welcomedAt));
    } finally {
      clearTimeout(welcomeTimer);
      session.ended = true;
      session.wakeup.wake();
      clearInterval(heartbeat);
      stopWatchingOutbox();
      signal.removeEventListener('abort', abort);
      controller.abort();
      platform.close();
      if (this.session === session) this.session = undefined;
      if (session.welcomed) {
        handlers.disconnected();
        log.info('brain connection closed');
      }
    }
  }

  private welcome(session: StreamSession, welcome: Welcome): NodeJS.Timeout {
    const { outbox, handlers, log } = this.options;
    for (const ack of welcome.acks) outbox.ack(ack.taskId, ack.seq);
    for (const taskId of welcome.droppedTaskIds) handlers.drop(taskId, 'the brain no longer gives this node the task');
    session.welcomed = true;
    const intervalMs = (welcome.heartbeatInterval && durationMs(welcome.heartbeatInterval)) || DEFAULT_HEARTBEAT_INTERVAL_MS;
    log.info({ executorId: welcome.executorId, orgId: welcome.orgId, heartbeatIntervalMs: intervalMs }, 'connected to the brain');
    handlers.connected();
    handlers.stateChanged({ kind: 'online' });
    session.wakeup.wake();
    return setInterval(() => {
      this.send(create(ConnectRequestSchema, { kind: { case: 'heartbeat', value: create(HeartbeatSchema, { running: handlers.runningLeases() }) } }));
    }, intervalMs);
  }

  private dispatch(response: ConnectResponse): void {
    const { outbox, handlers } = this.options;
    switch (response.kind.case) {
      case 'assignTask':
        if (response.kind.value.task !== undefined) handlers.assign(response.kind.value.task);
        return;
      case 'ack':
        outbox.ack(response.kind.value.taskId, response.kind.value.seq);
        return;
      case 'cancelTask':
        handlers.cancel(response.kind.value.taskId, response.kind.value.reason);
        return;
      case 'toolResult':
        handlers.toolResult(response.kind.value);
        return;
      case 'welcome':
      case undefined:
        return;
    }
  }

  /** What the node sends: Hello, then control messages first and the outbox's events in between. */
  private async *outgoing(session: StreamSession, hello: Hello): AsyncGenerator<ConnectRequest> {
    yield create(ConnectRequestSchema, { kind: { case: 'hello', value: hello } });
    while (!session.ended) {
      const control = session.controls.shift();
      if (control !== undefined) {
        yield control;
        continue;
      }
      const batch = session.welcomed ? this.options.outbox.takeNextBatch() : undefined;
      if (batch !== undefined) {
        yield create(ConnectRequestSchema, { kind: { case: 'taskEvents', value: create(TaskEventsSchema, batch) } });
        continue;
      }
      await session.wakeup.next(Infinity, session.closed);
    }
  }
}

function isHealthy(welcomedAt: number | undefined): boolean {
  return welcomedAt !== undefined && Date.now() - welcomedAt >= HEALTHY_CONNECTION_MS;
}

function classify(error: unknown, healthy: boolean): AttemptEnd {
  const connectError = ConnectError.from(error);
  const reason = reasonOf(connectError);
  if (connectError.code === Code.Unauthenticated && reason !== undefined && CREDENTIAL_REASONS.has(reason)) {
    return { kind: 'credential-rejected', reason, message: credentialMessage(reason) };
  }
  if (connectError.code === Code.AlreadyExists) {
    return { kind: 'replaced', message: 'another foundation-agent connected with this node\'s credential; this one stops (run one daemon per pairing)' };
  }
  return { kind: 'retry', error: describeRpcError(connectError), healthy };
}

function credentialMessage(reason: string): string {
  return reason === 'NODE_REVOKED'
    ? 'this node was revoked by an admin of its organization: run `foundation-agent pair --force --server <url> --code <code>` with a new pairing code'
    : `the platform does not accept this node's credential (${reason}): run \`foundation-agent pair --force --server <url> --code <code>\` to pair again`;
}
