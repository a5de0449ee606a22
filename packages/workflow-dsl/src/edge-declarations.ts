import { branchNames } from './condition-config.js';
import type { Expression } from './expression.js';
import { readExpression } from './expression-fields.js';
import type { NodeDeclaration } from './node-declarations.js';
import { isTriggerType } from './node-types.js';
import { FieldReader } from './spec-fields.js';

/**
 * When an edge is taken, given that its `from` node succeeded: always; when the `condition` node it leaves
 * chose `branch`; or when `expression` is true over the run context.
 */
export type EdgeCondition =
  | { kind: 'always' }
  | { kind: 'branch'; branch: string }
  | { kind: 'expression'; expression: Expression };

/** What could be read of one edge. */
export interface EdgeDeclaration {
  index: number;
  from: string | undefined;
  to: string | undefined;
  condition: EdgeCondition | undefined;
  /** Whether it joins two distinct existing nodes, is no duplicate and leads into no trigger. */
  connects: boolean;
}

/** The spec's `edges`, checked against the nodes that could be read. */
export function readEdges(spec: FieldReader, nodes: ReadonlyMap<string, NodeDeclaration>): EdgeDeclaration[] {
  const declarations: EdgeDeclaration[] = [];
  const seen = new Set<string>();
  for (const [index, item] of (spec.array('edges') ?? []).entries()) {
    const edge = FieldReader.of(spec.problems, item, ['edges', index]);
    if (edge === undefined) continue;
    edge.onlyKeys(['from', 'to', 'condition'], 'an edge');
    const from = edge.string('from', { required: true });
    const to = edge.string('to', { required: true });
    const source = from === undefined ? undefined : nodes.get(from);
    const target = to === undefined ? undefined : nodes.get(to);
    if (from !== undefined && source === undefined) edge.report('from', `names no node; there is no node with id ${from}`);
    if (to !== undefined && target === undefined) edge.report('to', `names no node; there is no node with id ${to}`);
    const condition = source && readCondition(edge, source);
    let connects = source !== undefined && target !== undefined;
    if (connects && from === to) {
      spec.problems.add(['edges', index], `leads from ${from} back to itself; a workflow has no loops`);
      connects = false;
    }
    if (connects && target?.type !== undefined && isTriggerType(target.type)) {
      edge.report('to', `leads into the trigger ${to}; a run enters at a trigger, so nothing leads into one`);
      connects = false;
    }
    const written = edge.raw('condition');
    const key = JSON.stringify([from, to, typeof written === 'string' ? written : '']);
    if (connects && seen.has(key)) {
      spec.problems.add(['edges', index], `repeats an earlier edge from ${from} to ${to}`);
      connects = false;
    }
    seen.add(key);
    declarations.push({ index, from, to, condition, connects });
  }
  return declarations;
}

/**
 * On an edge leaving a `condition` node the condition names one of its branches or its default; on any
 * other edge it is a JSONata expression.
 */
function readCondition(edge: FieldReader, source: NodeDeclaration): EdgeCondition | undefined {
  if (edge.raw('condition') === undefined || edge.raw('condition') === '') return { kind: 'always' };
  if (source.type !== 'condition') {
    const expression = readExpression(edge, 'condition');
    return expression && { kind: 'expression', expression };
  }
  const branch = edge.string('condition');
  if (branch === undefined || source.typed?.type !== 'condition') return undefined;
  const names = branchNames(source.typed.config);
  if (names.includes(branch)) return { kind: 'branch', branch };
  edge.report('condition', `must name a branch of ${source.id}: ${names.join(', ')}`);
  return undefined;
}
