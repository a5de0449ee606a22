import { type HandlerContext, Code, type ServiceImpl } from '@connectrpc/connect';
import type { GetExecutorRequest, ExecutorService, ListExecutorsRequest, RevokeExecutorRequest } from '@foundation/contracts';
import { assertOwnerOrAdmin, assertValid, pageOf, readPage, requireTenant, rpcError, uuidViolations, type Logger } from '@foundation/kit';
import type { BrainSignals } from './brain-signals.js';
import { executorMessage } from './executor-messages.js';
import type { ExecutorRecord, ExecutorStore } from './executor-store.js';
import type { TaskCloser } from './task-closer.js';
import type { TaskStore } from './task-store.js';

/** ExecutorService: the organization's nodes, and revoking one. */
export class ExecutorServiceImpl implements ServiceImpl<typeof ExecutorService> {
  constructor(
    private readonly executors: ExecutorStore,
    private readonly tasks: TaskStore,
    private readonly closer: TaskCloser,
    private readonly signals: BrainSignals,
    private readonly log: Logger,
  ) {}

  async listExecutors(request: ListExecutorsRequest, context: HandlerContext) {
    const tenant = requireTenant(context);
    const window = readPage(request.page);
    const { items, nextPageToken } = pageOf(await this.executors.list(tenant.orgId, window), window, (e) => ({ key: e.id, id: e.id }));
    return { executors: items.map(executorMessage), page: { nextPageToken } };
  }

  async getExecutor(request: GetExecutorRequest, context: HandlerContext) {
    const tenant = requireTenant(context);
    assertValid(uuidViolations('executor_id', request.executorId));
    return { executor: executorMessage(found(await this.executors.get(tenant.orgId, request.executorId), request.executorId)) };
  }

  /**
   * Revokes at once: the credential stops working, the node's stream ends on whichever instance holds it,
   * and its unfinished tasks fail with "node revoked" (recorded now, or by the sweeper if the session
   * service cannot take it now).
   */
  async revokeExecutor(request: RevokeExecutorRequest, context: HandlerContext) {
    const tenant = requireTenant(context);
    assertValid(uuidViolations('executor_id', request.executorId));
    assertOwnerOrAdmin(tenant, 'revoke nodes');
    const executor = found(await this.executors.revoke(tenant.orgId, request.executorId), request.executorId);
    this.signals.send({ kind: 'executor-revoked', executorId: executor.id });
    const closed = await this.tasks.closeTasksOfExecutor(tenant.orgId, executor.id, 'node revoked');
    await Promise.all(closed.map((task) => this.closer.finish(task)));
    if (closed.length > 0) this.log.info({ executorId: executor.id, tasks: closed.length }, 'tasks of a revoked node failed');
    return { executor: executorMessage(executor) };
  }
}

function found(executor: ExecutorRecord | undefined, id: string): ExecutorRecord {
  if (!executor) throw rpcError(Code.NotFound, 'NOT_FOUND', `the organization has no executor ${id}`);
  return executor;
}
