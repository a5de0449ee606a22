import { durationMs } from '@bufbuild/protobuf/wkt';
import { Code, type ServiceImpl } from '@connectrpc/connect';
import { isEngineId, unsupportedEngineMessage } from '@foundation/agent-engines';
import type { CancelTaskRequest, StartTaskRequest, TaskService } from '@foundation/contracts';
import { assertValid, invalidFields, rpcError, uuidViolations } from '@foundation/kit';
import type { BrainSignals } from './brain-signals.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { ExecutorStore } from './executor-store.js';
import type { NodeConnection } from './node-connection.js';
import type { TaskCloser } from './task-closer.js';
import type { TaskDispatcher } from './task-dispatcher.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_WALL_CLOCK_TIMEOUT_MS, startTaskViolations } from './task-rules.js';
import type { TaskRecord, TaskStore } from './task-store.js';

/**
 * TaskService: the session service queues and cancels agent tasks here. A queued task is offered at once
 * to one fitting node this instance holds, the least loaded (so StartTask can say which node took it), and
 * only if none here took it, through a signal, to the nodes other instances hold.
 */
export class TaskServiceImpl implements ServiceImpl<typeof TaskService> {
  constructor(
    private readonly tasks: TaskStore,
    private readonly executors: ExecutorStore,
    private readonly registry: ConnectionRegistry,
    private readonly signals: BrainSignals,
    private readonly closer: TaskCloser,
    private readonly dispatcher: TaskDispatcher,
  ) {}

  async startTask(request: StartTaskRequest) {
    assertValid(startTaskViolations(request));
    if (!isEngineId(request.engine)) throw rpcError(Code.InvalidArgument, 'UNSUPPORTED_ENGINE', unsupportedEngineMessage(request.engine));
    const { orgId } = request;
    if (request.executorId !== '') {
      const executor = await this.executors.get(orgId, request.executorId);
      if (!executor) throw rpcError(Code.NotFound, 'NOT_FOUND', `the organization has no executor ${request.executorId}`);
      if (executor.revokedAt) throw rpcError(Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE', `executor ${executor.name} is revoked: pair the node again`);
      if (!executor.engines.some((e) => e.engine === request.engine)) {
        throw rpcError(
          Code.FailedPrecondition,
          'ENGINE_NOT_AVAILABLE',
          `executor ${executor.name} does not offer ${request.engine} (it offers ${executor.engines.map((e) => e.engine).join(', ') || 'no engine yet'})`,
        );
      }
    }
    const task = await this.tasks.insert(orgId, {
      taskId: request.taskId,
      engine: request.engine,
      requestedExecutorId: request.executorId || undefined,
      workspace: request.workspace,
      prompt: request.prompt,
      resumeEngineSessionId: request.resumeEngineSessionId,
      toolBridge: request.toolBridge,
      idleTimeoutMs: request.idleTimeout ? durationMs(request.idleTimeout) : DEFAULT_IDLE_TIMEOUT_MS,
      wallClockTimeoutMs: request.wallClockTimeout ? durationMs(request.wallClockTimeout) : DEFAULT_WALL_CLOCK_TIMEOUT_MS,
    });
    // The id exists, but in another organization, where row-level security hides it.
    if (!task) throw invalidFields([{ field: 'task_id', description: 'is already used; choose a new UUID' }]);
    if (task.state === 'pending') {
      const executorId = await this.dispatcher.offer(task, fittingNodes(this.registry, task));
      if (executorId !== undefined) return { executorId };
      this.signals.sendToOthers({ kind: 'tasks-pending', orgId });
      return { executorId: '' };
    }
    // StartTask again for a task queued before: what became of it.
    return { executorId: task.state === 'assigned' || task.state === 'ended' ? (task.assignedExecutorId ?? '') : '' };
  }

  async cancelTask(request: CancelTaskRequest) {
    assertValid([...uuidViolations('org_id', request.orgId), ...uuidViolations('task_id', request.taskId)]);
    const reason = request.reason.slice(0, 500) || 'cancelled by a user';
    const task = await this.tasks.read(request.orgId, request.taskId);
    if (!task) throw rpcError(Code.NotFound, 'NOT_FOUND', `the organization has no task ${request.taskId}`);
    if (task.state === 'pending') {
      const closed = await this.tasks.close(request.orgId, request.taskId, 'cancelled', reason, ['pending']);
      if (closed) {
        await this.closer.finish(closed);
        return {};
      }
    }
    // Assigned (possibly just now): its node stops the engine and reports TurnCompleted(CANCELLED) itself.
    const current = task.state === 'pending' ? await this.tasks.read(request.orgId, request.taskId) : task;
    if (current?.state === 'assigned' && current.assignedExecutorId) {
      this.signals.send({ kind: 'cancel-task', executorId: current.assignedExecutorId, taskId: current.taskId, reason });
    }
    return {};
  }
}

/**
 * The nodes held here that could take the task now, least loaded first (the one it names, if it names
 * one). A node whose load hint says it is full is left out: if the hint is wrong, the sweep offers the task.
 */
function fittingNodes(registry: ConnectionRegistry, task: TaskRecord): NodeConnection[] {
  const held = task.requestedExecutorId ? [registry.get(task.requestedExecutorId)] : registry.ofOrg(task.orgId);
  return held
    .filter((node): node is NodeConnection => node?.orgId === task.orgId && node.engines.includes(task.engine) && node.load < node.capacity)
    .sort((a, b) => a.load - b.load);
}
