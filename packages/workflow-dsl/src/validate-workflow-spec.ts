import type { ConnectorCatalog } from '@foundation/connectors';
import { readEdges, type EdgeCondition, type EdgeDeclaration } from './edge-declarations.js';
import type { Expression } from './expression.js';
import { contextReferences } from './expression-references.js';
import { readInputs, type InputDeclaration } from './input-declarations.js';
import { configExpressions, type TypedNodeConfig } from './node-config.js';
import { readNodes, type NodeDeclaration } from './node-declarations.js';
import { isTriggerType } from './node-types.js';
import { FieldReader } from './spec-fields.js';
import { SpecGraph } from './spec-graph.js';
import { RUN_TIMEOUT } from './spec-limits.js';
import { parsePath, ProblemList, type SpecProblem } from './spec-problem.js';

export interface ValidateOptions {
  /** The connectors runs can use; `connector.action` nodes are checked against it. */
  catalog: ConnectorCatalog;
}

/**
 * Every problem of `spec` (a WorkflowSpec in its proto-JSON form, or anything else), in document order,
 * each at a path like `nodes[2].config.action`. Empty means the spec can be saved, published and run.
 * Never throws, whatever `spec` is.
 */
export function validateWorkflowSpec(spec: unknown, options: ValidateOptions): SpecProblem[] {
  return analyzeSpec(spec, options.catalog).problems;
}

/** A spec that validated: every part read, the graph without cycles. */
export interface SpecModel {
  inputs: InputDeclaration[];
  nodes: (NodeDeclaration & { id: string; typed: TypedNodeConfig })[];
  edges: (EdgeDeclaration & { from: string; to: string; condition: EdgeCondition })[];
  timeoutMs: number;
  graph: SpecGraph;
}

/**
 * Reads the spec once, for validation and compilation alike: each part is read where it is, then the
 * checks that need the whole graph run (cycles, reachability, what expressions may read). The model is
 * there only when nothing is wrong. Without a catalog, connector actions are checked for shape only.
 */
export function analyzeSpec(spec: unknown, catalog?: ConnectorCatalog): { problems: SpecProblem[]; model?: SpecModel } {
  const problems = new ProblemList();
  const reader = FieldReader.of(problems, spec, []);
  if (reader === undefined) return { problems: problems.inDocumentOrder(spec) };
  reader.onlyKeys(['inputs', 'nodes', 'edges', 'timeout'], 'a workflow spec');
  const inputs = readInputs(reader);
  const nodes = readNodes(reader, catalog);
  const nodesById = new Map(nodes.flatMap((node) => (node.id === undefined ? [] : [[node.id, node] as const])));
  const edges = readEdges(reader, nodesById);
  const timeoutMs = reader.duration('timeout', RUN_TIMEOUT);
  const connecting = edges.flatMap((edge) => (edge.connects ? [{ index: edge.index, from: edge.from!, to: edge.to! }] : []));
  const graph = new SpecGraph([...nodesById.keys()], connecting);

  checkShape(problems, nodes, graph);
  checkReferences(problems, { nodes, edges, inputs, graph });
  checkTriggersCanStart(problems, nodes, inputs);

  if (!problems.isEmpty) return { problems: problems.inDocumentOrder(spec) };
  // No problem means every node and edge was read in full.
  return { problems: [], model: { inputs, nodes: nodes as SpecModel['nodes'], edges: edges as SpecModel['edges'], timeoutMs, graph } };
}

/** No cycles, at least one trigger, and every node reachable from one (else it could never run). */
function checkShape(problems: ProblemList, nodes: NodeDeclaration[], graph: SpecGraph): void {
  for (const cycle of graph.cycles()) {
    problems.add(['edges', cycle.edgeIndex], `closes a cycle ${cycle.nodes.join(' → ')}; a workflow has no loops`);
  }
  const triggers = nodes.flatMap((node) => (node.id !== undefined && node.type !== undefined && isTriggerType(node.type) ? [node.id] : []));
  if (triggers.length === 0) {
    if (nodes.length > 0) problems.add(['nodes'], 'has no trigger; add a trigger.manual, trigger.webhook or trigger.schedule node');
    return;
  }
  const reachable = graph.reachableFrom(triggers);
  for (const node of nodes) {
    if (node.id !== undefined && !reachable.has(node.id)) {
      problems.add(['nodes', node.index], 'is not reachable from any trigger, so it would never run; add an edge into it');
    }
  }
}

interface ReferenceScope {
  nodes: NodeDeclaration[];
  edges: EdgeDeclaration[];
  inputs: InputDeclaration[];
  graph: SpecGraph;
}

/**
 * An expression may read the inputs that are declared and the outputs of nodes that have settled when it
 * runs: a node's ancestors for its own config, and for an edge condition its `from` node and that node's
 * ancestors.
 */
function checkReferences(problems: ProblemList, scope: ReferenceScope): void {
  const inputs = new Set(scope.inputs.map((input) => input.name));
  const nodeIds = new Set(scope.graph.nodeIds);
  const check = (expression: Expression, visible: ReadonlySet<string>, reader: string): void => {
    const reported = new Set<string>();
    for (const { root, name } of contextReferences(expression.ast())) {
      const read = `${root}.${name}`;
      let message: string | undefined;
      if (reported.has(read)) continue;
      else if (root === 'inputs') message = inputs.has(name) ? undefined : `reads ${read}, but no input ${name} is declared`;
      else if (!nodeIds.has(name)) message = `reads ${read}, but there is no node ${name}`;
      else if (!visible.has(name)) message = `reads ${read}, but ${name} is not upstream of ${reader}, so its output is not there`;
      if (message === undefined) continue;
      reported.add(read);
      problems.add(parsePath(expression.location.path), message);
    }
  };
  for (const node of scope.nodes) {
    if (node.id === undefined || node.typed === undefined) continue;
    for (const expression of configExpressions(node.typed)) check(expression, scope.graph.ancestors(node.id), `node ${node.id}`);
  }
  for (const edge of scope.edges) {
    if (edge.from === undefined || edge.condition?.kind !== 'expression') continue;
    const visible = new Set([...scope.graph.ancestors(edge.from), edge.from]);
    check(edge.condition.expression, visible, `this edge's from node ${edge.from}`);
  }
}

/** Webhooks and schedules start runs without inputs, so every required input needs a default. */
function checkTriggersCanStart(problems: ProblemList, nodes: NodeDeclaration[], inputs: InputDeclaration[]): void {
  const unsupplied = inputs.filter((input) => input.required && input.default === undefined).map((input) => input.name);
  if (unsupplied.length === 0) return;
  const which = `${unsupplied.join(', ')} ${unsupplied.length === 1 ? 'is' : 'are'} required with no default`;
  for (const node of nodes) {
    if (node.type === 'trigger.webhook' || node.type === 'trigger.schedule') {
      problems.add(['nodes', node.index], `is a ${node.type}, which starts runs without inputs, but ${which}`);
    }
  }
}
