import type { Expression } from './expression.js';
import { readExpression } from './expression-fields.js';
import { FieldReader } from './spec-fields.js';

/** A named way out of a `condition` node, taken when `when` is true. */
export interface ConditionBranch {
  name: string;
  when: Expression;
}

/**
 * `condition`: the branches are tried in order and the first whose `when` is true (by JSONata's rules) is
 * chosen, else `default`; with no default and no match the node fails. The node's output is
 * `{ "branch": <name> }`, and the edges leaving it whose `condition` names that branch are taken.
 */
export interface ConditionConfig {
  branches: ConditionBranch[];
  default?: string;
}

const MAX_BRANCH_NAME_LENGTH = 64;

export function readConditionConfig(reader: FieldReader, nodeId: string): ConditionConfig | undefined {
  reader.onlyKeys(['branches', 'default'], 'a condition config');
  const list = reader.array('branches', true);
  if (list?.length === 0) reader.report('branches', 'must have at least one branch');
  const names: string[] = [];
  const branches: ConditionBranch[] = [];
  for (const [index, item] of (list ?? []).entries()) {
    const branch = FieldReader.of(reader.problems, item, [...reader.at('branches'), index]);
    if (branch === undefined) continue;
    branch.onlyKeys(['name', 'when'], 'a branch');
    const name = branch.string('name', { required: true, maxLength: MAX_BRANCH_NAME_LENGTH });
    if (name !== undefined && names.includes(name)) branch.report('name', 'is already the name of an earlier branch');
    else if (name !== undefined) names.push(name);
    const when = readExpression(branch, 'when', nodeId);
    if (name !== undefined && when !== undefined) branches.push({ name, when });
  }
  const fallback = reader.string('default', { maxLength: MAX_BRANCH_NAME_LENGTH });
  if (fallback !== undefined && names.includes(fallback)) reader.report('default', 'must differ from the branch names');
  if (list === undefined || list.length === 0 || branches.length !== list.length) return undefined;
  return { branches, ...(fallback === undefined ? {} : { default: fallback }) };
}

/** The names an edge leaving a condition node may follow: its branches and its default. */
export function branchNames(config: ConditionConfig): string[] {
  return [...config.branches.map((branch) => branch.name), ...(config.default === undefined ? [] : [config.default])];
}
