import type { JsonValue } from '@foundation/connectors';
import type { CompiledNodeOf } from './compiled-workflow.js';
import { ExpressionError } from './expression-error.js';
import type { RunContext } from './run-context.js';

/** What a `transform` node outputs: its expression's value over the run context (nothing becomes null). */
export async function runTransform(node: CompiledNodeOf<'transform'>, context: RunContext): Promise<JsonValue> {
  return (await node.config.expression.evaluate(context)) ?? null;
}

/**
 * The branch a `condition` node takes: the first whose `when` is true, else the default. With neither the
 * node fails: an `ExpressionError` with code `NO_BRANCH`, as does any branch expression that fails.
 */
export async function chooseBranch(node: CompiledNodeOf<'condition'>, context: RunContext): Promise<string> {
  for (const branch of node.config.branches) {
    if (await branch.when.isTrue(context)) return branch.name;
  }
  if (node.config.default !== undefined) return node.config.default;
  const names = node.config.branches.map((branch) => branch.name).join(', ');
  throw new ExpressionError(
    { path: `nodes[${node.index}].config`, nodeId: node.id },
    'NO_BRANCH',
    `no branch matched (${names}) and the condition has no default branch`,
  );
}
