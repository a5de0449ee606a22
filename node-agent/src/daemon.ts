import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ConnectRequestSchema, HeldTaskSchema, HelloSchema, TaskRejectedSchema } from '@foundation/contracts';
import type { EngineId } from '@foundation/agent-engines';
import type { Logger } from 'pino';
import { BrainConnection, type ConnectionEnd, type ConnectionState } from './brain-connection.js';
import { DaemonStatusFile } from './daemon-status-file.js';
import type { EngineAdapter } from './engines/engine.js';
import { EventOutbox } from './event-outbox.js';
import { currentNodeFacts, installedEngines } from './node-facts.js';
import type { Pairing } from './pairing-store.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import type { StatusLine } from './status-line.js';
import { TaskRunner } from './task-runner.js';
import { toolBridgeCommand } from './tool-bridge/mcp-server-command.js';
import { ToolCallBroker } from './tool-bridge/tool-call-broker.js';
import { ToolRelayServer } from './tool-bridge/tool-relay-server.js';

/** How long a clean stop waits for the brain to acknowledge the last events; the rest stays on disk. */
const SHUTDOWN_DELIVERY_MS = 5_000;
/**
 * A tool call without a result after this long fails. As long as the longest turn, because agent_execute
 * runs a whole turn of another agent; the engine's own idle timeout usually ends a stuck call first.
 */
const TOOL_CALL_TIMEOUT_MS = 2 * 60 * 60_000;

export interface DaemonOptions {
  pairing: Pairing;
  dataDir: string;
  workspaceRoot: string;
  capacity: number;
  outboxMaxBytes: number;
  reconnectMaxDelayMs: number;
  adapters: ReadonlyMap<EngineId, EngineAdapter>;
  log: Logger;
  statusLine: StatusLine;
}

/** Another daemon already runs on this data dir; two would share one outbox. */
export class DaemonAlreadyRunningError extends Error {
  override readonly name = 'DaemonAlreadyRunningError';
}

/**
 * The foreground daemon of `foundation-agent start`: reads back the outbox a previous run left, finds the
 * engines, keeps the brain connection, runs tasks, and on `stop` cancels the running turns, waits briefly
 * for their last events to be acknowledged, and closes. Resolves with why the connection ended.
 */
export async function runDaemon(options: DaemonOptions, stop: AbortSignal): Promise<ConnectionEnd> {
  const { pairing, dataDir, statusLine } = options;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const statusFile = new DaemonStatusFile(dataDir);
  const other = statusFile.readLive();
  if (other !== undefined && other.pid !== process.pid) {
    throw new DaemonAlreadyRunningError(`another foundation-agent (pid ${other.pid}) is running with the data dir ${dataDir}`);
  }
  const startTime = new Date().toISOString();
  const status = { state: 'starting', runningTasks: 0 };
  const report: StatusReporter = (update) => {
    Object.assign(status, update);
    const facts = { ...status, capacity: options.capacity, server: pairing.server };
    statusFile.write({ pid: process.pid, executorId: pairing.executorId, startTime, updateTime: new Date().toISOString(), ...facts });
    statusLine.show(facts);
  };
  report({});
  try {
    return await serve(options, stop, report);
  } finally {
    statusFile.remove();
    statusLine.end();
  }
}

type StatusReporter = (update: Partial<{ state: string; runningTasks: number }>) => void;

/** Everything of the daemon but its status file: outbox, engines, tool relay, task runner, connection. */
async function serve(options: DaemonOptions, stop: AbortSignal, report: StatusReporter): Promise<ConnectionEnd> {
  const { pairing, log } = options;
  const outbox = EventOutbox.open({ dir: join(options.dataDir, 'outbox'), maxBytesPerTask: options.outboxMaxBytes });
  const interrupted = outbox.failInterruptedTurns('the node-agent restarted during the turn');
  if (interrupted.length > 0) log.warn({ taskIds: interrupted }, 'turns interrupted by the previous daemon reported as failed');
  const engines = await installedEngines(options.adapters);
  log.info({ engines: engines.map((e) => ({ engine: e.engine, version: e.version })) }, 'engines found');

  let connection: BrainConnection | undefined;
  const broker = new ToolCallBroker({ send: (message) => connection?.send(message) ?? false, timeoutMs: TOOL_CALL_TIMEOUT_MS });
  const relay = await ToolRelayServer.start((taskId, tool, args) => broker.call(taskId, outbox.leaseToken(taskId) ?? '', tool, args));
  const tasks: TaskRunner = new TaskRunner({
    capacity: options.capacity,
    workspaceRoot: options.workspaceRoot,
    adapters: options.adapters,
    installedEngines: new Set(engines.map((e) => e.engine)),
    outbox,
    toolBridge: (taskId) => {
      const token = relay.register(taskId);
      return {
        command: toolBridgeCommand(relay.address, token),
        release: () => {
          relay.unregister(token);
          broker.forgetTask(taskId);
        },
      };
    },
    reject: (rejection) => {
      connection?.send(create(ConnectRequestSchema, { kind: { case: 'taskRejected', value: create(TaskRejectedSchema, rejection) } }));
    },
    onChange: () => report({ runningTasks: tasks.runningCount }),
    log,
  });
  const dropTask = (taskId: string, reason: string) => {
    tasks.drop(taskId, reason);
    broker.forgetTask(taskId);
  };
  const brain = new BrainConnection({
    server: pairing.server,
    credential: pairing.credential,
    outbox,
    backoff: new ReconnectBackoff({ maxDelayMs: options.reconnectMaxDelayMs }),
    log,
    handlers: {
      hello: () =>
        create(HelloSchema, {
          facts: currentNodeFacts(),
          engines,
          capacity: options.capacity,
          heldTasks: outbox.heldTasks().map((held) => create(HeldTaskSchema, held)),
        }),
      assign: (task) => tasks.assign(task),
      cancel: (taskId, reason) => (reason.startsWith('TASK_NOT_HELD') ? dropTask(taskId, reason) : tasks.cancel(taskId, reason)),
      drop: dropTask,
      toolResult: (result) => broker.resolve(result),
      runningLeases: () => tasks.runningLeases(),
      connected: () => broker.connected(),
      disconnected: () => broker.disconnected(),
      stateChanged: (next) => report({ state: describeState(next) }),
    },
  });
  connection = brain;

  const connectionStop = new AbortController();
  const shutdown = async () => {
    report({ state: 'stopping' });
    log.info({ runningTasks: tasks.runningCount }, 'stopping: cancelling running turns');
    await tasks.stopAll();
    const delivered = await brain.waitUntilDelivered(SHUTDOWN_DELIVERY_MS);
    if (!delivered) log.warn({ heldTasks: outbox.heldTasks().length }, 'stopping with events not yet acknowledged; they are sent on the next start');
    connectionStop.abort();
  };
  const onStop = () => void shutdown();
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });

  try {
    const end = await brain.run(connectionStop.signal);
    if (end.kind !== 'stopped') {
      log.error({ reason: end.kind === 'credential-rejected' ? end.reason : end.kind }, end.message);
      await tasks.stopAll();
    }
    return end;
  } finally {
    stop.removeEventListener('abort', onStop);
    await relay.close();
    outbox.close();
  }
}

function describeState(state: ConnectionState): string {
  switch (state.kind) {
    case 'connecting':
      return 'connecting';
    case 'online':
      return 'online';
    case 'retrying':
      return `offline · retrying in ${Math.ceil(state.delayMs / 1000)}s (${state.error})`;
    case 'stopped':
      return 'stopped';
  }
}
