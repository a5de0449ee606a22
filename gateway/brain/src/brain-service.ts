import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  AckSchema,
  WelcomeSchema,
  type BrainService,
  type ConnectRequest,
  type ConnectResponse,
  type Heartbeat,
  type Hello,
  type TaskEvents,
  type TaskRejected,
  type ToolCall,
  type Welcome,
} from '@foundation/contracts';
import { invalidFields, rpcError, type Logger } from '@foundation/kit';
import type { BrainSignals } from './brain-signals.js';
import { replacedError, type ConnectionRegistry } from './connection-registry.js';
import type { CredentialOwner, ExecutorStore } from './executor-store.js';
import { nodeFactsRecord } from './executor-messages.js';
import { helloViolations, MAX_HELD_TASKS, offeredEngines } from './hello-rules.js';
import { revokedError, type NodeAuthenticator } from './node-authenticator.js';
import { NodeConnection } from './node-connection.js';
import type { TaskCloser } from './task-closer.js';
import type { TaskDispatcher } from './task-dispatcher.js';
import type { TaskEventRelay } from './task-event-relay.js';
import { continuesMerge, MAX_MERGED_MESSAGES } from './task-events-merge.js';
import { isTurnCompleted } from './task-messages.js';
import { isWellFormedLease, type TaskStore } from './task-store.js';
import { StreamReadAhead } from './stream-read-ahead.js';
import { toolError, type ToolBridge } from './tool-bridge.js';

export interface StreamPolicy {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  /** Names this brain instance in the executor registry (which instance holds a node). */
  instanceId: string;
}

/** Heartbeats a node may miss before it counts as gone and its stream is ended. */
export const MISSED_HEARTBEATS_LIMIT = 3;

export interface BrainServiceDependencies {
  authenticator: NodeAuthenticator;
  executors: ExecutorStore;
  tasks: TaskStore;
  registry: ConnectionRegistry;
  signals: BrainSignals;
  dispatcher: TaskDispatcher;
  relay: TaskEventRelay;
  closer: TaskCloser;
  bridge: ToolBridge;
  policy: StreamPolicy;
  log: Logger;
}

/**
 * BrainService.Connect: one stream per node. The handler authenticates the credential, requires Hello
 * first, answers Welcome, then reads the node's messages one at a time (so events of a task are relayed
 * in order) while a separate queue carries what the brain sends. The node is online exactly while the
 * stream is open and heartbeats arrive: the stream ending, or three heartbeats missed, takes it offline.
 */
export class BrainServiceImpl implements ServiceImpl<typeof BrainService> {
  constructor(private readonly deps: BrainServiceDependencies) {}

  async *connect(requests: AsyncIterable<ConnectRequest>, context: HandlerContext): AsyncIterable<ConnectResponse> {
    const { deps } = this;
    const owner = await deps.authenticator.authenticate(context.requestHeader);
    const iterator = requests[Symbol.asyncIterator]();
    const first = await iterator.next();
    const hello = !first.done && first.value.kind.case === 'hello' ? first.value.kind.value : undefined;
    if (!hello) throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', 'the first message of a Connect stream must be Hello');
    const violations = helloViolations(hello);
    if (violations.length > 0) throw invalidFields(violations);

    const engines = offeredEngines(hello);
    const connection = new NodeConnection(
      owner,
      randomUUID(),
      engines.map((e) => e.engine),
      hello.capacity,
      deps.dispatcher.dispatch,
    );
    const connected = await deps.executors.recordConnected(owner, connection.connectionId, deps.policy.instanceId, {
      facts: nodeFactsRecord(hello.facts),
      engines,
      capacity: hello.capacity,
    });
    if (!connected) throw revokedError();
    connection.send({ case: 'welcome', value: await this.welcome(owner, hello) });
    deps.registry.register(connection);
    deps.signals.send({ kind: 'executor-connected', executorId: owner.executorId, connectionId: connection.connectionId });
    deps.log.info({ executorId: owner.executorId, orgId: owner.orgId, capacity: hello.capacity }, 'node connected');

    const onAbort = () => connection.end(new ConnectError('the stream was closed', Code.Canceled));
    context.signal.addEventListener('abort', onAbort, { once: true });
    const watchdog = new SilenceWatchdog(deps.policy.heartbeatIntervalMs * MISSED_HEARTBEATS_LIMIT, () =>
      connection.end(new ConnectError(`no heartbeat for ${MISSED_HEARTBEATS_LIMIT} intervals: the node is considered gone`, Code.DeadlineExceeded)),
    );
    void this.read(iterator, connection, watchdog);
    void connection.requestDispatch();
    try {
      yield* connection.outbox;
    } finally {
      watchdog.stop();
      context.signal.removeEventListener('abort', onAbort);
      connection.end();
      deps.registry.unregister(connection);
      await deps.executors.recordDisconnected(owner.orgId, owner.executorId, connection.connectionId).catch((error: Error) => {
        deps.log.warn({ executorId: owner.executorId, error: error.message }, 'could not record a node as disconnected; it shows offline once its heartbeats are overdue');
      });
      deps.log.info({ executorId: owner.executorId }, 'node disconnected');
    }
  }

  /** What the brain still gives the node of the tasks it says it holds, with their leases extended. */
  private async welcome(owner: CredentialOwner, hello: Hello): Promise<Welcome> {
    const { tasks, policy } = this.deps;
    const leases = hello.heldTasks.map((held) => ({ taskId: held.taskId, leaseToken: held.leaseToken }));
    const { held, lost } = await tasks.extendLeases(owner.orgId, owner.executorId, leases, policy.leaseTtlMs);
    const acks = held.map((task) => create(AckSchema, { taskId: task.taskId, seq: BigInt(task.lastSeq) }));
    return create(WelcomeSchema, {
      executorId: owner.executorId,
      orgId: owner.orgId,
      heartbeatInterval: durationFromMs(policy.heartbeatIntervalMs),
      leaseTtl: durationFromMs(policy.leaseTtlMs),
      acks,
      droppedTaskIds: lost,
    });
  }

  /**
   * Reads the node's messages until its stream ends; the stream then ends here too (the node is offline).
   * Messages are handled one at a time, in order; a few are read ahead so that TaskEvents of one task
   * already waiting behind the one at hand go to the session service with it (one RecordTaskEvents and one
   * Ack instead of one each: a node streaming a busy turn sends faster than each could be relayed alone).
   */
  private async read(iterator: AsyncIterator<ConnectRequest>, connection: NodeConnection, watchdog: SilenceWatchdog): Promise<void> {
    const reader = new StreamReadAhead(iterator, MAX_MERGED_MESSAGES);
    try {
      for (;;) {
        const next = await reader.next();
        if (next === undefined || connection.outbox.ended) break;
        await this.handle(connection, next, reader, watchdog);
      }
      connection.end();
    } catch (error) {
      this.failed(connection, error);
    } finally {
      reader.stop();
    }
  }

  private async handle(connection: NodeConnection, request: ConnectRequest, reader: StreamReadAhead<ConnectRequest>, watchdog: SilenceWatchdog): Promise<void> {
    const { kind } = request;
    switch (kind.case) {
      case 'heartbeat':
        watchdog.reset();
        return this.heartbeat(connection, kind.value);
      case 'taskEvents': {
        const messages = withWaitingTaskEvents(kind.value, reader);
        // The engine ended: the turn's tool calls have nobody to answer any more.
        if (messages.some((m) => m.events.some(isTurnCompleted))) connection.taskStopped(kind.value.taskId);
        return this.deps.relay.relay(connection, messages);
      }
      case 'toolCall':
        // Not awaited: a connector action may take seconds, and the node's events must not wait for it.
        void this.toolCall(connection, kind.value);
        return;
      case 'taskRejected':
        return this.taskRejected(connection, kind.value);
      case 'hello':
        throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', 'Hello is sent once, as the first message of the stream');
      default:
        throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', 'the message sets none of hello, heartbeat, task_events, tool_call, task_rejected');
    }
  }

  private async heartbeat(connection: NodeConnection, heartbeat: Heartbeat): Promise<void> {
    const { executors, tasks, policy } = this.deps;
    if (heartbeat.running.length > MAX_HELD_TASKS) {
      throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', `a Heartbeat lists at most ${MAX_HELD_TASKS} running tasks`);
    }
    const standing = await executors.recordSeen(connection.orgId, connection.executorId, connection.connectionId);
    if (standing !== 'held') {
      connection.end(standing === 'revoked' ? revokedError() : replacedError());
      return;
    }
    const { lost } = await tasks.extendLeases(connection.orgId, connection.executorId, heartbeat.running, policy.leaseTtlMs);
    for (const taskId of lost) connection.cancelTask(taskId, 'TASK_NOT_HELD: the lease expired or the task ended');
  }

  private async toolCall(connection: NodeConnection, call: ToolCall): Promise<void> {
    try {
      const lease = { taskId: call.taskId, leaseToken: call.leaseToken };
      const held = await this.deps.tasks.held(connection.orgId, connection.executorId, lease);
      const result = held
        ? await connection.forTask(call.taskId, (signal) => this.deps.bridge.call(connection.orgId, call, signal))
        : toolError(call, 'TASK_NOT_HELD', 'this node does not hold the task the tool call names');
      connection.send({ case: 'toolResult', value: result });
    } catch (error) {
      this.failed(connection, error);
    }
  }

  private async taskRejected(connection: NodeConnection, rejected: TaskRejected): Promise<void> {
    const { tasks, signals, closer } = this.deps;
    const lease = { taskId: rejected.taskId, leaseToken: rejected.leaseToken };
    if (!isWellFormedLease(lease)) return;
    if (rejected.retryable) {
      if (await tasks.returnToPending(connection.orgId, connection.executorId, lease)) signals.send({ kind: 'tasks-pending', orgId: connection.orgId });
    } else {
      const reason = `the node refused the task: ${rejected.reason.slice(0, 500) || 'no reason given'}`;
      const closed = await tasks.closeHeld(connection.orgId, connection.executorId, lease, reason);
      if (closed) await closer.finish(closed);
    }
    void connection.requestDispatch();
  }

  /**
   * Ends the stream for an error while serving it: a ConnectError (bad input) goes to the node as it is;
   * anything else (the database went away) is logged and reported as UNAVAILABLE, and the node reconnects.
   */
  private failed(connection: NodeConnection, error: unknown): void {
    if (error instanceof ConnectError) {
      connection.end(error);
      return;
    }
    this.deps.log.error({ err: error, executorId: connection.executorId }, 'a node stream failed');
    connection.end(rpcError(Code.Unavailable, 'DEPENDENCY_UNAVAILABLE', 'the brain could not process the stream; reconnect'));
  }
}

/** `first` and the TaskEvents read right behind it that can be relayed with it (see `continuesMerge`). */
function withWaitingTaskEvents(first: TaskEvents, reader: StreamReadAhead<ConnectRequest>): TaskEvents[] {
  const messages = [first];
  for (;;) {
    const waiting = reader.takeIf((r) => r.kind.case === 'taskEvents' && continuesMerge(messages, r.kind.value));
    if (waiting?.kind.case !== 'taskEvents') return messages;
    messages.push(waiting.kind.value);
  }
}

/** Calls `onSilence` when `reset` was not called for `limitMs`. */
class SilenceWatchdog {
  #timer: NodeJS.Timeout;

  constructor(
    private readonly limitMs: number,
    private readonly onSilence: () => void,
  ) {
    this.#timer = setTimeout(onSilence, limitMs);
  }

  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.onSilence, this.limitMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
