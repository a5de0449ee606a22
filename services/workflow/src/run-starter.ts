import { Code } from '@connectrpc/connect';
import { assertValid, rpcError } from '@foundation/kit';
import { QueueUnavailableError, type RunQueue } from '@foundation/run-queue';
import { resolveRunInputs, type CompiledWorkflow, type CompiledWorkflowCache, type JsonValue } from '@foundation/workflow-dsl';
import type { RunRecord, RunTrigger } from './run-record.js';
import type { RunStore } from './run-store.js';
import { unstorableViolations } from './run-storable-json.js';
import { specViolations } from './spec-problems.js';
import type { WorkflowStore } from './workflow-store.js';

/** A start request from any trigger. */
export interface RunRequest {
  workflowId: string;
  /** 0 = the latest published version. */
  version: number;
  trigger: RunTrigger;
  /** The trigger node to enter by; unset for manual and webhook starts, which enter by the version's trigger of that type. */
  triggerNodeId?: string;
  /** Supplied inputs, checked against the declared ones (defaults applied). */
  inputs: unknown;
  /** What the trigger delivered; manual starts deliver their inputs. */
  triggerOutput?: JsonValue;
  idempotencyKey: string;
  startedBy: string;
  retryOf: string;
}

/**
 * Starts runs for every trigger (manual, retry, webhook, schedule): checks the workflow is runnable and
 * the inputs fit, inserts the run, then queues it. A run whose job the queue would not take is deleted
 * again and the caller gets UNAVAILABLE (QUEUE_UNAVAILABLE): no run is ever left queued without a job
 * by a start (a crash between insert and queue is the reconciler's to repair).
 */
export class RunStarter {
  constructor(
    private readonly workflows: WorkflowStore,
    private readonly runs: RunStore,
    private readonly queue: RunQueue,
    private readonly compiled: CompiledWorkflowCache,
    private readonly enqueueTimeoutMs: number,
  ) {}

  async start(orgId: string, request: RunRequest): Promise<RunRecord> {
    const { workflow, version } = await this.workflows.runnable(orgId, request.workflowId, request.version);
    const compiled = this.compiled.compile(workflow.id, version.version, version.spec);
    const triggerNodeId = request.triggerNodeId ?? entryTrigger(compiled, request.trigger, version.version);
    if (!compiled.isTrigger(triggerNodeId)) {
      throw rpcError(Code.NotFound, 'NOT_FOUND', `version ${version.version} has no trigger node "${triggerNodeId}"`);
    }
    const { inputs, problems } = resolveRunInputs(compiled, request.inputs ?? {});
    assertValid([...specViolations('', problems), ...unstorableViolations(inputs, request.triggerOutput)]);
    const { run, created } = await this.runs.insert(orgId, {
      workflowId: workflow.id,
      workflowVersion: version.version,
      inputs,
      trigger: request.trigger,
      triggerNodeId,
      triggerOutput: request.triggerOutput ?? inputs,
      idempotencyKey: request.idempotencyKey,
      startedBy: request.startedBy,
      retryOf: request.retryOf,
      timeBudgetMs: compiled.runTimeoutMs,
    });
    if (!created) return run;
    try {
      await this.queue.enqueue(run.id, { orgId }, this.enqueueTimeoutMs);
    } catch (e) {
      if (!(e instanceof QueueUnavailableError)) throw e;
      await this.runs.remove(orgId, run.id);
      throw rpcError(Code.Unavailable, 'QUEUE_UNAVAILABLE', 'the run queue is unavailable, so the run was not started; try again shortly');
    }
    return run;
  }
}

/** The trigger node a manual or webhook start enters by; the others name theirs. */
function entryTrigger(compiled: CompiledWorkflow, trigger: RunTrigger, version: number): string {
  if (trigger === 'webhook') {
    const node = compiled.webhookTriggers()[0];
    if (node === undefined) throw rpcError(Code.NotFound, 'NOT_FOUND', `version ${version} has no trigger.webhook node`);
    return node;
  }
  const node = compiled.manualTriggers()[0];
  if (node === undefined) {
    throw rpcError(Code.FailedPrecondition, 'NO_MANUAL_TRIGGER', `version ${version} has no trigger.manual node, so it cannot be started by hand`);
  }
  return node;
}
