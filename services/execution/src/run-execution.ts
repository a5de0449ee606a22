import type { Client } from '@connectrpc/connect';
import type { RunProgressService } from '@foundation/contracts';
import type { Logger } from '@foundation/kit';
import { ExpressionError, hasUnstorableText, RunGraph, type CompiledNode, type CompiledWorkflow, type JsonValue } from '@foundation/workflow-dsl';
import type { CancelListener } from './cancel-listener.js';
import type { ClaimedRun } from './claimed-run.js';
import { NodeFailure } from './node-failure.js';
import { sleep, type NodeExecutors } from './node-executors.js';
import { ProgressReporter } from './progress-reporter.js';

/** A node output larger than this fails the node: it would not fit a progress report or a checkpoint. */
export const NODE_OUTPUT_MAX_BYTES = 1024 * 1024;

export interface RunExecutionDeps {
  executors: NodeExecutors;
  progress: Client<typeof RunProgressService>;
  cancels: CancelListener;
  log: Logger;
  /** How often the lease is renewed while nothing else is reported. */
  heartbeatMs: number;
}

/** `lease_lost` and `shutdown` end the work without reporting an end: another worker resumes the run. */
type StopReason = 'cancelled' | 'run_timeout' | 'lease_lost' | 'shutdown';

type NodeResult = { nodeId: string; attempt: number } & ({ ok: true; output: JsonValue } | { ok: false; failure: NodeFailure });

/** How a run ended, as reported; undefined when the run was lost to another worker (nothing to report). */
type Outcome = { status: 'succeeded' } | { status: 'failed' | 'cancelled'; reason: string; message: string; nodeId: string };

/**
 * Executes one claimed run: restores the completed nodes from their checkpoints, then runs every ready
 * node (independent branches in parallel), each attempt with its timeout and retry policy, checkpointing
 * each result, until the graph completes, a node fails for good, the run is cancelled or times out, or
 * its lease is lost. The first failure stops the other nodes: the run fails fast.
 */
export class RunExecution {
  readonly #stop = new AbortController();
  /** Aborted on the first node failure too, so siblings stop; `#stop` alone decides the run's outcome. */
  readonly #nodes = new AbortController();
  readonly #graph: RunGraph;
  readonly #reporter: ProgressReporter;

  constructor(
    private readonly deps: RunExecutionDeps,
    private readonly claim: ClaimedRun,
    private readonly workflow: CompiledWorkflow,
  ) {
    this.#graph = new RunGraph(workflow, {
      runId: claim.runId,
      attempt: claim.attempt,
      triggerNodeId: claim.triggerNodeId,
      triggerOutput: claim.triggerOutput,
      inputs: claim.inputs,
    });
    for (const checkpoint of claim.checkpoints) this.#graph.settle(checkpoint.nodeId, checkpoint.status, checkpoint.output);
    this.#reporter = new ProgressReporter(
      deps.progress,
      {
        runId: claim.runId,
        orgId: claim.orgId,
        leaseToken: claim.leaseToken,
        heartbeatMs: deps.heartbeatMs,
        onCancelRequested: () => this.stop('cancelled'),
        onLeaseLost: () => this.stop('lease_lost'),
      },
      deps.log,
    );
    this.#stop.signal.addEventListener('abort', () => this.#nodes.abort(this.#stop.signal.reason));
  }

  async execute(): Promise<void> {
    const unlisten = this.deps.cancels.listen(this.claim.runId, () => this.stop('cancelled'));
    const deadline = setTimeout(() => this.stop('run_timeout'), Math.max(0, this.claim.deadline.getTime() - Date.now()));
    try {
      const outcome = await this.walk();
      if (outcome && !this.#reporter.leaseLost) await this.#reporter.finish(outcome);
    } finally {
      clearTimeout(deadline);
      unlisten();
      this.#reporter.stop();
    }
  }

  /** Why a node under way was interrupted: the run's stop reason, or another node's failure. */
  private interruption(): NodeFailure {
    switch (this.#stop.signal.aborted ? (this.#stop.signal.reason as StopReason) : undefined) {
      case 'run_timeout':
        return new NodeFailure('RUN_TIMEOUT', 'the run exceeded its time budget', false);
      case 'cancelled':
        return new NodeFailure('CANCELLED', 'the run was cancelled', false);
      case undefined:
        return new NodeFailure('CANCELLED', 'another node failed, which fails the run', false);
      default:
        return new NodeFailure('CANCELLED', 'this worker stopped working on the run', false);
    }
  }

  /** Stops working on the run without ending it (this process shuts down); its lease lapses and another worker resumes it. */
  abandon(): void {
    this.stop('shutdown');
  }

  private stop(reason: StopReason): void {
    if (!this.#stop.signal.aborted) this.#stop.abort(reason);
  }

  private async walk(): Promise<Outcome | undefined> {
    const running = new Map<string, Promise<NodeResult>>();
    let failure: { nodeId: string; failure: NodeFailure } | undefined;
    for (;;) {
      if (!this.#nodes.signal.aborted) {
        try {
          const { ready, skipped } = await this.#graph.advance();
          for (const nodeId of skipped) this.#reporter.checkpoint({ nodeId, status: 'skipped', outputJson: 'null', attempt: 0 });
          const nodes = ready.map((nodeId) => this.workflow.node(nodeId));
          // Results are stored before a node with an outside effect starts: a recovered run never repeats
          // a node whose effectful successor already ran. Pure nodes need no such wait.
          if (nodes.some(hasOutsideEffect)) await this.#reporter.flush();
          for (const node of nodes) running.set(node.id, this.runNode(node));
        } catch (e) {
          // An edge condition that fails to evaluate: the run cannot know where to go.
          failure = { nodeId: e instanceof ExpressionError ? (e.nodeId ?? '') : '', failure: NodeFailure.from(e) };
          this.#nodes.abort('failed');
        }
      }
      if (running.size === 0) break;
      const result = await Promise.race(running.values());
      running.delete(result.nodeId);
      if (result.ok) {
        this.#reporter.checkpoint({ nodeId: result.nodeId, status: 'succeeded', outputJson: JSON.stringify(result.output), attempt: result.attempt });
        this.#graph.settle(result.nodeId, 'succeeded', result.output);
      } else if (!failure && !this.#nodes.signal.aborted) {
        failure = { nodeId: result.nodeId, failure: result.failure };
        this.#nodes.abort('failed');
      }
    }
    const stopped = this.#stop.signal.aborted ? (this.#stop.signal.reason as StopReason) : undefined;
    if (stopped === 'lease_lost' || stopped === 'shutdown') return undefined;
    if (stopped === 'cancelled') return { status: 'cancelled', reason: 'CANCELLED', message: 'cancelled by a user', nodeId: '' };
    if (stopped === 'run_timeout') return { status: 'failed', reason: 'RUN_TIMEOUT', message: 'the run exceeded its time budget', nodeId: '' };
    if (failure) return { status: 'failed', reason: failure.failure.reason, message: failure.failure.message, nodeId: failure.nodeId };
    if (this.#graph.isComplete()) return { status: 'succeeded' };
    return { status: 'failed', reason: 'NODE_FAILED', message: 'the run stopped with nodes that could never run', nodeId: '' };
  }

  /** Attempts of one node until it succeeds, fails for good, or the run stops. */
  private async runNode(node: CompiledNode): Promise<NodeResult> {
    let attempt = this.claim.nodeAttempts[node.id] ?? 0;
    for (let tries = 1; ; tries++) {
      attempt += 1;
      const at = { nodeId: node.id, attempt };
      this.event('node.started', at, {});
      const result = await this.attemptNode(node, attempt);
      if (result.ok) {
        this.event('node.succeeded', at, { output: result.output });
        return { ...at, ok: true, output: result.output };
      }
      const failure = this.#nodes.signal.aborted ? this.interruption() : result.failure;
      if (failure.retryable && tries < node.retry.maxAttempts && !this.#nodes.signal.aborted) {
        const delayMs = backoffMs(node.retry, tries);
        this.event('node.retrying', at, { reason: failure.reason, message: failure.message, delayMs });
        try {
          await sleep(delayMs, this.#nodes.signal);
          continue;
        } catch {
          const interruption = this.interruption();
          this.event('node.failed', at, { reason: interruption.reason, message: interruption.message });
          return { ...at, ok: false, failure: interruption };
        }
      }
      this.event('node.failed', at, { reason: failure.reason, message: failure.message, retryable: failure.retryable });
      return { ...at, ok: false, failure };
    }
  }

  /** One attempt, bounded by the node's timeout and interrupted when the run stops. */
  private async attemptNode(node: CompiledNode, attempt: number): Promise<{ ok: true; output: JsonValue } | { ok: false; failure: NodeFailure }> {
    let logged = 0;
    const attemptSignal = new AbortController();
    const onStop = () => attemptSignal.abort(this.#nodes.signal.reason);
    this.#nodes.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(
      () => attemptSignal.abort(new NodeFailure('NODE_TIMEOUT', `attempt ${attempt} took longer than the node's timeout of ${node.timeoutMs} ms`, true)),
      node.timeoutMs,
    );
    try {
      if (this.#nodes.signal.aborted) onStop();
      const output = await Promise.race([
        this.deps.executors.run({
          orgId: this.claim.orgId,
          runId: this.claim.runId,
          node,
          attempt,
          context: this.#graph.context(),
          signal: attemptSignal.signal,
          log: (message) => this.event('node.log', { nodeId: node.id, attempt }, { message }, ++logged),
          agentEvent: (seq, payload) => this.event('node.agent_event', { nodeId: node.id, attempt }, payload, seq),
        }),
        rejectOnAbort(attemptSignal.signal),
      ]);
      const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
      if (bytes > NODE_OUTPUT_MAX_BYTES) {
        return { ok: false, failure: new NodeFailure('OUTPUT_TOO_LARGE', `the output is ${bytes} bytes; a node's output may be at most ${NODE_OUTPUT_MAX_BYTES}`, false) };
      }
      if (hasUnstorableText(output ?? null)) {
        return { ok: false, failure: new NodeFailure('OUTPUT_INVALID', 'the output holds U+0000 or half of a surrogate pair, which a run cannot store', false) };
      }
      return { ok: true, output: output ?? null };
    } catch (e) {
      const reason: unknown = attemptSignal.signal.aborted ? attemptSignal.signal.reason : undefined;
      return { ok: false, failure: reason instanceof NodeFailure ? reason : NodeFailure.from(e) };
    } finally {
      clearTimeout(timer);
      this.#nodes.signal.removeEventListener('abort', onStop);
    }
  }

  /** Reports an event keyed by type, node and attempt (and `index` for the several logs of one attempt). */
  private event(type: string, { nodeId, attempt }: { nodeId: string; attempt: number }, payload: { [key: string]: JsonValue }, index?: number): void {
    const key = `${type}:${nodeId}:${attempt}${index === undefined ? '' : `:${index}`}`;
    this.#reporter.event({ key, type, nodeId, attempt, payloadJson: JSON.stringify(payload) });
  }
}

/** Nodes whose attempt acts outside the platform (an API call, an agent); transforms, conditions and delays do not. */
function hasOutsideEffect(node: CompiledNode): boolean {
  return node.type === 'connector.action' || node.type === 'agent.run';
}

function backoffMs(retry: CompiledNode['retry'], failedTries: number): number {
  return Math.min(retry.initialBackoffMs * retry.multiplier ** (failedTries - 1), retry.maxBackoffMs);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
