import type { EdgeCondition } from './edge-declarations.js';
import type { InputDeclaration } from './input-declarations.js';
import type { TypedNodeConfig } from './node-config.js';
import { isTriggerType } from './node-types.js';
import type { RetryPolicy } from './node-declarations.js';
import type { WorkflowSpecJson } from './spec-json.js';
import { WorkflowInvalidError } from './spec-problem.js';
import { analyzeSpec, type SpecModel } from './validate-workflow-spec.js';

/** An edge of a compiled workflow; `index` is its place in the spec's `edges`. */
export interface CompiledEdge {
  index: number;
  from: string;
  to: string;
  condition: EdgeCondition;
}

/** A node ready to run: typed config with its expressions parsed, durations in ms, neighbours listed. */
export type CompiledNode = TypedNodeConfig & {
  id: string;
  /** Its place in the spec's `nodes`. */
  index: number;
  name: string | undefined;
  retry: RetryPolicy;
  /** One attempt's budget. */
  timeoutMs: number;
  /** Distinct nodes with an edge into this one, in edge order. */
  predecessors: readonly string[];
  /** Distinct nodes this one has an edge to, in edge order. */
  successors: readonly string[];
  incoming: readonly CompiledEdge[];
};

/** A compiled node of one type, its config narrowed. */
export type CompiledNodeOf<T extends CompiledNode['type']> = Extract<CompiledNode, { type: T }>;

/** Where a schedule trigger fires. */
export interface ScheduleTrigger {
  nodeId: string;
  cron: string;
  timezone: string;
}

/**
 * A published version, compiled once and run many times: every expression is parsed here, once, and
 * shared by all runs (evaluation keeps no state between calls).
 */
export class CompiledWorkflow {
  readonly #nodes = new Map<string, CompiledNode>();

  /** Node ids such that every edge points forward; runs settle nodes in this order. */
  readonly order: readonly string[];
  readonly inputs: readonly InputDeclaration[];
  readonly edges: readonly CompiledEdge[];
  /** The run's budget. */
  readonly runTimeoutMs: number;

  constructor(model: SpecModel) {
    this.edges = model.edges.map(({ index, from, to, condition }) => ({ index, from, to, condition }));
    for (const node of model.nodes) {
      const incoming = this.edges.filter((edge) => edge.to === node.id);
      const outgoing = this.edges.filter((edge) => edge.from === node.id);
      this.#nodes.set(node.id, {
        ...node.typed,
        id: node.id,
        index: node.index,
        name: node.name,
        retry: node.retry,
        timeoutMs: node.timeoutMs,
        predecessors: [...new Set(incoming.map((edge) => edge.from))],
        successors: [...new Set(outgoing.map((edge) => edge.to))],
        incoming,
      });
    }
    this.order = model.graph.topologicalOrder();
    this.inputs = model.inputs;
    this.runTimeoutMs = model.timeoutMs;
  }

  /** Every node, in document order. */
  nodes(): CompiledNode[] {
    return [...this.#nodes.values()];
  }

  /** The node with `id`; throws for an id the workflow does not have (a caller's bug). */
  node(id: string): CompiledNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`the workflow has no node ${JSON.stringify(id)}`);
    return node;
  }

  /** Whether the workflow has a trigger node `id`, so a run may enter there. */
  isTrigger(id: string): boolean {
    const node = this.#nodes.get(id);
    return node !== undefined && isTriggerType(node.type);
  }

  manualTriggers(): string[] {
    return this.nodes().flatMap((node) => (node.type === 'trigger.manual' ? [node.id] : []));
  }

  webhookTriggers(): string[] {
    return this.nodes().flatMap((node) => (node.type === 'trigger.webhook' ? [node.id] : []));
  }

  scheduleTriggers(): ScheduleTrigger[] {
    return this.nodes().flatMap((node) => (node.type === 'trigger.schedule' ? [{ nodeId: node.id, ...node.config }] : []));
  }
}

/**
 * Compiles a spec that validated. Throws `WorkflowInvalidError` (with every problem) for one that does
 * not; connector actions are checked for shape only here, against the catalog by `validateWorkflowSpec`.
 */
export function compileWorkflow(spec: WorkflowSpecJson): CompiledWorkflow {
  const { problems, model } = analyzeSpec(spec);
  if (model === undefined) throw new WorkflowInvalidError(problems);
  return new CompiledWorkflow(model);
}
