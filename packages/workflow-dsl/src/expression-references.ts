import type jsonata from 'jsonata';

/** A read of `nodes.<name>` or `inputs.<name>` from the run context. */
export interface ContextReference {
  root: 'nodes' | 'inputs';
  name: string;
}

/** Keys under which JSONata keeps sub-expressions evaluated against something other than their parent's input. */
const RELATIVE_KEYS = new Set(['stages', 'predicate', 'group', 'terms', 'update', 'delete']);

/**
 * The `nodes.X` and `inputs.Y` an expression reads, found in its parse tree. Only paths evaluated against
 * the run context itself count: the first step of a top-level path (or the step after `$$`, the root),
 * not steps inside a filter, sort, group-by or a later step, whose input is some other value. Names
 * reached any other way (`nodes[name = 'x']`, `$lookup(nodes, 'x')`) are not seen; reading them is
 * harmless, it yields nothing when the node is not upstream.
 */
export function contextReferences(ast: jsonata.ExprNode): ContextReference[] {
  const found: ContextReference[] = [];
  visit(ast, true, found);
  return found;
}

function visit(node: unknown, onContext: boolean, found: ContextReference[]): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, onContext, found);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  // The typings miss some node types (`path`, `filter`, `sort`…), so nodes are read as plain records.
  const expression = node as Record<string, unknown>;
  if (expression['type'] === 'path' && Array.isArray(expression['steps'])) {
    visitPath(expression['steps'] as jsonata.ExprNode[], onContext, found);
    visit(expression['group'], false, found);
    return;
  }
  for (const [key, child] of Object.entries(expression)) {
    visit(child, onContext && !RELATIVE_KEYS.has(key), found);
  }
}

/** A path's first step reads its input; every later step reads the previous step's result. */
function visitPath(steps: jsonata.ExprNode[], onContext: boolean, found: ContextReference[]): void {
  // `$$` is the root whatever the input; `$` is the input, the root only where the input is.
  const first = steps[0];
  const startsAtRoot = first?.type === 'variable' && (first.value === '$' || (first.value === '' && onContext));
  const rootIndex = startsAtRoot ? 1 : onContext ? 0 : -1;
  const root = steps[rootIndex];
  const name = steps[rootIndex + 1];
  if (root?.type === 'name' && (root.value === 'nodes' || root.value === 'inputs') && name?.type === 'name') {
    found.push({ root: root.value, name: String(name.value) });
  }
  steps.forEach((step, index) => visit(step, onContext && index === 0 && !startsAtRoot, found));
}
