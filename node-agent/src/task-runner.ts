import { create } from '@bufbuild/protobuf';
import { durationMs, type Duration } from '@bufbuild/protobuf/wkt';
import { TaskLeaseSchema, TurnCompleted_Status, type AgentEvent, type Task, type TaskLease } from '@foundation/contracts';
import { isEngineId, type EngineId } from '@foundation/agent-engines';
import type { Logger } from 'pino';
import type { EngineAdapter, McpServerCommand } from './engines/engine.js';
import type { EventOutbox } from './event-outbox.js';
import { cancelledTurn, failedTurn, isTurnCompleted } from './synthetic-events.js';
import { resolveTaskWorkspace, WorkspaceRefusedError } from './workspace-path.js';

/** brain.proto's defaults, for a task that leaves its timeouts unset. */
const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_WALL_CLOCK_TIMEOUT_MS = 2 * 60 * 60_000;
/** Task ids name directories of the outbox: nothing that could leave it. */
const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface TaskRejection {
  taskId: string;
  leaseToken: string;
  reason: string;
  retryable: boolean;
}

/** Gives a task the tool bridge; `release` runs when the turn is over. */
export type ToolBridgeProvider = (taskId: string) => { command: McpServerCommand; release(): void };

export interface TaskRunnerOptions {
  capacity: number;
  workspaceRoot: string;
  adapters: ReadonlyMap<EngineId, EngineAdapter>;
  /** Engines whose CLI answered `--version` at start; a task for another one is rejected. */
  installedEngines: ReadonlySet<string>;
  outbox: EventOutbox;
  toolBridge: ToolBridgeProvider;
  reject(rejection: TaskRejection): void;
  /** After a task starts or ends (the status line). */
  onChange(): void;
  log: Logger;
}

interface RunningTask {
  task: Task;
  controller: AbortController;
  /** The turn's TurnCompleted is in the outbox: later events of the engine are ignored. */
  ended: boolean;
  /** The brain no longer gives the node this task: nothing of it is kept. */
  dropped: boolean;
  /** The daemon is stopping: the engine's CANCELLED is reported as a failure of the node, not a user's cancel. */
  stopping: boolean;
  done: Promise<void>;
}

/**
 * Runs assigned tasks, up to `capacity` at once, each in its own directory under the workspace root,
 * through the engine adapter it names; every event the engine emits goes to the outbox. A misbehaving
 * engine (an adapter that throws, never ends its turn, or floods the outbox) fails its own task only.
 */
export class TaskRunner {
  private readonly running = new Map<string, RunningTask>();

  constructor(private readonly options: TaskRunnerOptions) {}

  get runningCount(): number {
    return this.running.size;
  }

  /** The tasks whose engine runs, for the heartbeat that extends their leases. */
  runningLeases(): TaskLease[] {
    return [...this.running.values()].map(({ task }) => create(TaskLeaseSchema, { taskId: task.taskId, leaseToken: task.leaseToken }));
  }

  /** Starts an assigned task, or rejects it through `options.reject`. */
  assign(task: Task): void {
    const { taskId, leaseToken } = task;
    const log = this.options.log.child({ taskId });
    if (this.running.has(taskId) || this.options.outbox.has(taskId)) {
      // The brain assigned it again after a reconnect: it runs or its events are on their way.
      log.info('task already held; ignoring the repeated assignment');
      return;
    }
    const refuse = (reason: string, retryable: boolean) => {
      log.warn({ reason, retryable }, 'task rejected');
      this.options.reject({ taskId, leaseToken, reason, retryable });
    };
    if (!TASK_ID_PATTERN.test(taskId)) return refuse(`task id "${taskId.slice(0, 64)}" is not a valid id`, false);
    if (this.running.size >= this.options.capacity) return refuse(`the node is at capacity (${this.options.capacity} tasks)`, true);
    if (!isEngineId(task.engine)) return refuse(`engine "${task.engine}" is not supported by this node-agent`, true);
    const adapter = this.options.adapters.get(task.engine);
    if (adapter === undefined || !this.options.installedEngines.has(task.engine)) {
      return refuse(`engine ${task.engine} is not installed on this node (${adapter?.executable ?? task.engine} not found on PATH)`, true);
    }
    const entry: RunningTask = { task, controller: new AbortController(), ended: false, dropped: false, stopping: false, done: Promise.resolve() };
    // Held before the first await, so two assignments at once cannot both take the last slot.
    this.running.set(taskId, entry);
    entry.done = this.run(entry, adapter, refuse, log).finally(() => {
      this.running.delete(taskId);
      this.options.onChange();
    });
    this.options.onChange();
  }

  /** A user cancelled: the engine is stopped and reports TurnCompleted(CANCELLED). */
  cancel(taskId: string, reason: string): void {
    const entry = this.running.get(taskId);
    if (entry === undefined) return;
    this.options.log.info({ taskId, reason }, 'cancelling task');
    entry.controller.abort(new Error(reason));
  }

  /** The node lost the task (lease expired, or the brain dropped it): stop it and keep nothing of it. */
  drop(taskId: string, reason: string): void {
    const entry = this.running.get(taskId);
    if (entry !== undefined) {
      entry.dropped = true;
      entry.controller.abort(new Error(reason));
    }
    this.options.outbox.forget(taskId);
    this.options.log.info({ taskId, reason }, 'task dropped');
  }

  /** Stops every turn for a shutdown and waits until their engines are gone and their last events written. */
  async stopAll(): Promise<void> {
    for (const entry of this.running.values()) {
      entry.stopping = true;
      entry.controller.abort(new Error('the node-agent is stopping'));
    }
    await Promise.all([...this.running.values()].map((entry) => entry.done));
  }

  private async run(entry: RunningTask, adapter: EngineAdapter, refuse: (reason: string, retryable: boolean) => void, log: Logger): Promise<void> {
    const { task } = entry;
    let cwd: string;
    try {
      cwd = await resolveTaskWorkspace(this.options.workspaceRoot, task.workspace, task.taskId);
    } catch (error) {
      const reason = error instanceof WorkspaceRefusedError ? error.message : `workspace "${task.workspace}" cannot be created: ${(error as Error).message}`;
      return refuse(reason, false);
    }
    if (entry.dropped) return;
    this.options.outbox.begin(task.taskId, task.leaseToken);
    if (entry.controller.signal.aborted) {
      // Cancelled while its directory was being made: no engine to start, the turn just ends.
      const reason = (entry.controller.signal.reason as Error).message;
      this.end(entry, stoppedByShutdown(entry, cancelledTurn(reason)), log);
      return;
    }
    const bridge = task.toolBridge ? this.options.toolBridge(task.taskId) : undefined;
    log.info({ engine: task.engine, cwd, toolBridge: task.toolBridge }, 'task started');
    try {
      await adapter.runTurn(
        {
          prompt: task.prompt,
          cwd,
          ...(task.resumeEngineSessionId !== '' && { resumeEngineSessionId: task.resumeEngineSessionId }),
          idleTimeoutMs: positiveMs(task.idleTimeout) ?? DEFAULT_IDLE_TIMEOUT_MS,
          wallClockTimeoutMs: positiveMs(task.wallClockTimeout) ?? DEFAULT_WALL_CLOCK_TIMEOUT_MS,
          ...(bridge !== undefined && { mcpServer: bridge.command }),
          signal: entry.controller.signal,
        },
        (event) => this.record(entry, event, log),
      );
      if (!entry.ended) this.end(entry, failedTurn('the engine adapter ended the turn without reporting its result'), log);
    } catch (error) {
      log.error({ err: error }, 'engine adapter failed');
      if (!entry.ended) this.end(entry, failedTurn(`the engine adapter failed: ${(error as Error).message}`), log);
    } finally {
      bridge?.release();
    }
    log.info('task ended');
  }

  /** One event of the engine, in order, into the outbox. */
  private record(entry: RunningTask, event: AgentEvent, log: Logger): void {
    if (entry.ended || entry.dropped) return;
    if (isTurnCompleted(event)) return this.end(entry, stoppedByShutdown(entry, event), log);
    let seq: bigint | undefined;
    try {
      seq = this.options.outbox.append(entry.task.taskId, event);
    } catch (error) {
      log.error({ err: error }, 'cannot write the event outbox');
      entry.controller.abort(new Error('cannot write the event outbox'));
      return this.end(entry, failedTurn(`the node-agent could not store the turn's events: ${(error as Error).message}`), log);
    }
    if (seq === undefined) {
      // The platform has not acknowledged this task's events for so long that its buffer is full: failing
      // the turn loudly beats dropping events or growing the disk without end.
      log.error('event outbox full; failing the turn');
      entry.controller.abort(new Error('event outbox full'));
      this.end(entry, failedTurn("the node-agent's event buffer for this task is full: the platform has not acknowledged its events for too long"), log);
    }
  }

  private end(entry: RunningTask, terminal: AgentEvent, log: Logger): void {
    entry.ended = true;
    if (entry.dropped) return;
    try {
      this.options.outbox.append(entry.task.taskId, terminal);
    } catch (error) {
      log.error({ err: error }, 'cannot write the turn result to the event outbox');
    }
  }
}

function stoppedByShutdown(entry: RunningTask, event: AgentEvent): AgentEvent {
  if (!entry.stopping || event.kind.case !== 'turnCompleted' || event.kind.value.status !== TurnCompleted_Status.CANCELLED) return event;
  const stopped = failedTurn('the node-agent was stopped during the turn');
  if (stopped.kind.case === 'turnCompleted') {
    stopped.kind.value.engineSessionId = event.kind.value.engineSessionId;
    stopped.kind.value.durationMs = event.kind.value.durationMs;
  }
  return stopped;
}

/** A task's timeout in ms; undefined when unset or not positive (the default applies). */
function positiveMs(duration: Duration | undefined): number | undefined {
  const ms = duration === undefined ? 0 : durationMs(duration);
  return ms > 0 ? ms : undefined;
}
