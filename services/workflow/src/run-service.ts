import { Code, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type {
  CancelRunRequest,
  GetRunRequest,
  ListRunEventsRequest,
  ListRunsRequest,
  RetryRunRequest,
  RunService,
  StartRunRequest,
  WatchRunRequest,
} from '@foundation/contracts';
import { Wakeup, type EventFeed } from '@foundation/event-feed';
import { afterSeqViolations, assertValid, pageOf, readPage, requireCaller, requireTenant, rpcError, uuidViolations, type FieldViolation } from '@foundation/kit';
import { runEventMessage, runMessage, runStatusFromProto } from './messages.js';
import { TERMINAL_EVENT_TYPES } from './run-event-log.js';
import { isFinished } from './run-record.js';
import type { RunStarter } from './run-starter.js';
import type { RunStore } from './run-store.js';
import type { WorkerSignals } from './worker-signals.js';

const IDEMPOTENCY_KEY_MAX = 200;
const EVENTS_PAGE_DEFAULT = 100;
const EVENTS_PAGE_MAX = 1000;
const WATCH_BATCH = 500;
/** How long a watcher sleeps without a notification before it reads again anyway (a lost message). */
const WATCH_POLL_MS = 5_000;

/** The RunService handlers. */
export class RunServiceImpl implements ServiceImpl<typeof RunService> {
  constructor(
    private readonly runs: RunStore,
    private readonly starter: RunStarter,
    private readonly feed: EventFeed,
    private readonly workers: WorkerSignals,
  ) {}

  async startRun(req: StartRunRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([
      ...uuidViolations('workflow_id', req.workflowId),
      ...(req.version < 0 ? [{ field: 'version', description: 'must be 0 (the latest) or a published version' }] : []),
      ...idempotencyKeyViolations(req.idempotencyKey),
    ]);
    const run = await this.starter.start(tenant.orgId, {
      workflowId: req.workflowId,
      version: req.version,
      trigger: 'manual',
      inputs: req.inputs ?? {},
      idempotencyKey: req.idempotencyKey,
      startedBy: requireCaller(ctx).userId,
      retryOf: '',
    });
    return { run: runMessage(run) };
  }

  async getRun(req: GetRunRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('run_id', req.runId));
    return { run: runMessage(await this.runs.get(tenant.orgId, req.runId)) };
  }

  async listRuns(req: ListRunsRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(req.workflowId === '' ? [] : uuidViolations('workflow_id', req.workflowId));
    const status = runStatusFromProto(req.status);
    if (req.status !== 0 && status === undefined) assertValid([{ field: 'status', description: 'is not a run status' }]);
    const window = readPage(req.page);
    const rows = await this.runs.list(tenant.orgId, { workflowId: req.workflowId || undefined, status }, window);
    const page = pageOf(rows, window, (r) => ({ key: r.id, id: r.id }));
    return { runs: page.items.map(runMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async listRunEvents(req: ListRunEventsRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([
      ...uuidViolations('run_id', req.runId),
      ...afterSeqViolations(req.afterSeq),
      ...(req.pageSize < 0 || req.pageSize > EVENTS_PAGE_MAX ? [{ field: 'page_size', description: `must be between 0 and ${EVENTS_PAGE_MAX}` }] : []),
    ]);
    const limit = req.pageSize === 0 ? EVENTS_PAGE_DEFAULT : req.pageSize;
    const events = await this.runs.events(tenant.orgId, req.runId, Number(req.afterSeq), limit + 1);
    return { events: events.slice(0, limit).map(runEventMessage), hasMore: events.length > limit };
  }

  /**
   * Replays stored events after `after_seq`, then follows new ones: a notification (or, if one is lost, the
   * poll interval) wakes the loop, which reads what is new from PostgreSQL. Subscribing before the first
   * read means no event can fall between the replay and the live part.
   */
  async *watchRun(req: WatchRunRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('run_id', req.runId), ...afterSeqViolations(req.afterSeq)]);
    let after = Number(req.afterSeq);
    let endedBefore = false;
    const wakeup = new Wakeup();
    const { ready, unsubscribe } = this.feed.subscribe(req.runId, () => wakeup.wake());
    try {
      await ready;
      while (!ctx.signal.aborted) {
        const events = await this.runs.events(tenant.orgId, req.runId, after, WATCH_BATCH);
        for (const event of events) {
          yield { event: runEventMessage(event) };
          after = event.seq;
          if (TERMINAL_EVENT_TYPES.has(event.type)) return;
        }
        if (events.length === WATCH_BATCH) continue;
        if (events.length === 0) {
          // Nothing new: end when the run has ended, after one more read, since the run may have ended (its
          // terminal event committed with its status) between the read above and this check.
          if (endedBefore) return;
          endedBefore = isFinished((await this.runs.get(tenant.orgId, req.runId)).status);
          if (endedBefore) continue;
        }
        await wakeup.next(WATCH_POLL_MS, ctx.signal);
      }
    } finally {
      unsubscribe();
    }
  }

  async cancelRun(req: CancelRunRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('run_id', req.runId));
    const { run, running } = await this.runs.requestCancel(tenant.orgId, req.runId);
    if (running) this.workers.cancel(run.id);
    else this.feed.notify(run.id, run.lastSeq);
    return { run: runMessage(run) };
  }

  async retryRun(req: RetryRunRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid([...uuidViolations('run_id', req.runId), ...idempotencyKeyViolations(req.idempotencyKey)]);
    const original = await this.runs.get(tenant.orgId, req.runId);
    if (!isFinished(original.status)) {
      throw rpcError(Code.FailedPrecondition, 'RUN_NOT_FINISHED', `the run is still ${original.status}; retry it once it has ended`);
    }
    const run = await this.starter.start(tenant.orgId, {
      workflowId: original.workflowId,
      version: original.workflowVersion,
      trigger: 'retry',
      triggerNodeId: original.triggerNodeId,
      inputs: original.inputs,
      triggerOutput: original.triggerOutput,
      idempotencyKey: req.idempotencyKey,
      startedBy: requireCaller(ctx).userId,
      retryOf: original.id,
    });
    return { run: runMessage(run) };
  }
}

function idempotencyKeyViolations(key: string): FieldViolation[] {
  return [...key].length > IDEMPOTENCY_KEY_MAX ? [{ field: 'idempotency_key', description: `must be at most ${IDEMPOTENCY_KEY_MAX} characters` }] : [];
}
