import type { JsonValue } from '@foundation/connectors';
import type { CompiledEdge, CompiledNode, CompiledWorkflow } from './compiled-workflow.js';
import { isTriggerType } from './node-types.js';
import type { RunContext } from './run-context.js';

export interface RunGraphOptions {
  runId: string;
  /** How many times the run has been claimed, this claim included. */
  attempt: number;
  /** The trigger the run entered at. */
  triggerNodeId: string;
  /** What that trigger delivered: its output, and `trigger` in expressions. */
  triggerOutput: JsonValue;
  /** The run's inputs, defaults applied (`resolveRunInputs`). */
  inputs: Record<string, JsonValue>;
}

/** How a node ended, as far as the graph cares; a failed node fails the run, which the worker handles. */
export type SettledStatus = 'succeeded' | 'skipped';

/** What became known in one `advance`: nodes to run now, and nodes that will never run. */
export interface Advance {
  ready: string[];
  skipped: string[];
}

/**
 * Where one run is in its workflow, with dead-path elimination. The run enters at one trigger, which
 * succeeds with what it delivered; every other trigger is skipped. A node waits until each of its
 * predecessors has settled (succeeded or skipped); it is then ready if at least one edge into it is
 * taken, and skipped if none is, which may in turn settle the nodes after it. An edge is taken when its
 * `from` node succeeded and it has no condition, names the branch that condition node chose, or its
 * expression is true in the context at that moment. The run is complete when every node has settled.
 *
 * The same object restores a run: settle what the checkpoints say, and `advance` returns exactly what
 * should run next. No node is ever returned twice, nor one the caller settled.
 */
export class RunGraph {
  readonly #workflow: CompiledWorkflow;
  readonly #options: RunGraphOptions;
  readonly #status = new Map<string, SettledStatus>();
  readonly #outputs = new Map<string, JsonValue>();
  /** Nodes the caller knows about: returned by `advance`, or settled by the caller. */
  readonly #known = new Set<string>();
  #advancing: Promise<unknown> = Promise.resolve();

  constructor(workflow: CompiledWorkflow, options: RunGraphOptions) {
    const entry = workflow.node(options.triggerNodeId);
    if (!isTriggerType(entry.type)) throw new Error(`node ${entry.id} is a ${entry.type}, not a trigger`);
    this.#workflow = workflow;
    this.#options = options;
    this.settle(entry.id, 'succeeded', options.triggerOutput);
    // Reported as skipped by the first `advance`, so the caller records them like any other skip.
    for (const node of workflow.nodes()) {
      if (isTriggerType(node.type) && node.id !== entry.id) this.#status.set(node.id, 'skipped');
    }
  }

  /**
   * Records how a node ended: live, when the worker finishes it, or from a checkpoint when a run resumes.
   * Settling a node again the same way replaces its output; settling it the other way is a bug.
   */
  settle(nodeId: string, status: SettledStatus, output: JsonValue = null): void {
    this.#workflow.node(nodeId);
    const previous = this.#status.get(nodeId);
    if (previous !== undefined && previous !== status) throw new Error(`node ${nodeId} already ${previous}, cannot be ${status}`);
    this.#status.set(nodeId, status);
    if (status === 'succeeded') this.#outputs.set(nodeId, output);
    this.#known.add(nodeId);
  }

  /**
   * The nodes that became ready and the nodes newly skipped since the last call, each in topological
   * order. Edge expressions are evaluated now; one that fails rejects with its `ExpressionError`. Calls
   * are queued, so overlapping calls never return a node twice.
   */
  advance(): Promise<Advance> {
    const next = this.#advancing.then(() => this.#advanceOnce());
    this.#advancing = next.catch(() => undefined);
    return next;
  }

  /** The context for expressions right now: inputs, succeeded nodes' outputs, trigger, run. */
  context(): RunContext {
    const nodes: RunContext['nodes'] = {};
    for (const [id, output] of this.#outputs) nodes[id] = { output };
    const { runId, attempt, inputs, triggerOutput } = this.#options;
    return { inputs, nodes, trigger: triggerOutput, run: { id: runId, attempt } };
  }

  isComplete(): boolean {
    return this.#workflow.order.every((id) => this.#status.has(id));
  }

  /** The output of a node that succeeded; undefined for one that was skipped or has not settled. */
  settledOutput(nodeId: string): JsonValue | undefined {
    return this.#outputs.get(nodeId);
  }

  async #advanceOnce(): Promise<Advance> {
    const advance: Advance = { ready: [], skipped: [] };
    // Topological order: a node skipped here is settled before any node after it is looked at.
    for (const id of this.#workflow.order) {
      if (this.#known.has(id)) continue;
      const node = this.#workflow.node(id);
      if (!this.#status.has(id)) {
        if (!node.predecessors.every((predecessor) => this.#status.has(predecessor))) continue;
        if (await this.#anyEdgeTaken(node)) {
          advance.ready.push(id);
          this.#known.add(id);
          continue;
        }
        this.#status.set(id, 'skipped');
      }
      advance.skipped.push(id);
      this.#known.add(id);
    }
    return advance;
  }

  async #anyEdgeTaken(node: CompiledNode): Promise<boolean> {
    for (const edge of node.incoming) {
      if (this.#status.get(edge.from) === 'succeeded' && (await this.#isTaken(edge))) return true;
    }
    return false;
  }

  #isTaken(edge: CompiledEdge): Promise<boolean> | boolean {
    switch (edge.condition.kind) {
      case 'always':
        return true;
      case 'branch':
        return chosenBranch(this.#outputs.get(edge.from)) === edge.condition.branch;
      case 'expression':
        return edge.condition.expression.isTrue(this.context());
    }
  }
}

/** A condition node's output is `{ "branch": <name> }`. */
function chosenBranch(output: JsonValue | undefined): unknown {
  return output !== null && typeof output === 'object' && !Array.isArray(output) ? output['branch'] : undefined;
}
