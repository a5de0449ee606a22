import type { JsonValue } from '@foundation/connectors';
import type { CompiledWorkflow } from './compiled-workflow.js';
import { hasInputType, inputTypeMessage } from './input-types.js';
import { isJsonObject } from './spec-fields.js';
import type { SpecProblem } from './spec-problem.js';

/**
 * The inputs a run starts with: what was supplied (parsed JSON), checked against the declarations, with
 * defaults for what was not. `null` counts as not supplied, as in proto-JSON. Problems are at
 * `inputs.<name>` (or `inputs` when `supplied` is no object); the inputs are usable only when there are
 * none.
 */
export function resolveRunInputs(
  workflow: CompiledWorkflow,
  supplied: unknown,
): { inputs: Record<string, JsonValue>; problems: SpecProblem[] } {
  const given = supplied ?? {};
  if (!isJsonObject(given)) return { inputs: {}, problems: [{ path: 'inputs', message: 'must be an object of input values' }] };
  const inputs: Record<string, JsonValue> = {};
  const problems: SpecProblem[] = [];
  for (const declaration of workflow.inputs) {
    const path = `inputs.${declaration.name}`;
    const value = given[declaration.name] ?? undefined;
    if (value === undefined) {
      if (declaration.default !== undefined) inputs[declaration.name] = structuredClone(declaration.default);
      else if (declaration.required) problems.push({ path, message: `is required (${declaration.type})` });
    } else if (hasInputType(value, declaration.type)) {
      inputs[declaration.name] = value;
    } else {
      problems.push({ path, message: inputTypeMessage(declaration.type) });
    }
  }
  const declared = new Set(workflow.inputs.map((declaration) => declaration.name));
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) problems.push({ path: `inputs.${name}`, message: 'is not an input of this workflow' });
  }
  return { inputs, problems };
}
