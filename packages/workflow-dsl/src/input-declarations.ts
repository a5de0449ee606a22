import type { JsonValue } from '@foundation/connectors';
import { hasInputType, inputTypeMessage, INPUT_TYPES, isInputType, type InputType } from './input-types.js';
import { FieldReader } from './spec-fields.js';
import { IDENTIFIER_HINT, IDENTIFIER_PATTERN } from './spec-limits.js';

/** One declared run input, with its default when it has one. */
export interface InputDeclaration {
  name: string;
  type: InputType;
  required: boolean;
  default?: JsonValue;
  description?: string;
}

/**
 * The spec's `inputs`: names unique identifiers, types from the closed list, a default of the declared
 * type. A `null` default is proto-JSON for "none" (no input type admits null).
 */
export function readInputs(spec: FieldReader): InputDeclaration[] {
  const declarations: InputDeclaration[] = [];
  const seen = new Set<string>();
  for (const [index, item] of (spec.array('inputs') ?? []).entries()) {
    const input = FieldReader.of(spec.problems, item, ['inputs', index]);
    if (input === undefined) continue;
    input.onlyKeys(['name', 'type', 'required', 'default', 'description'], 'an input');
    const name = input.string('name', { required: true, pattern: IDENTIFIER_PATTERN, patternHint: IDENTIFIER_HINT });
    const duplicate = name !== undefined && seen.has(name);
    if (duplicate) input.report('name', 'is declared twice; input names must be unique');
    if (name !== undefined) seen.add(name);
    const type = input.raw('type');
    if (!isInputType(type)) input.report('type', type === undefined ? 'is required' : `must be one of ${INPUT_TYPES.join(', ')}`);
    const required = input.boolean('required');
    const fallback = input.raw('default');
    if (isInputType(type) && fallback !== undefined && !hasInputType(fallback, type)) input.report('default', inputTypeMessage(type));
    const description = input.string('description');
    if (name === undefined || duplicate || !isInputType(type)) continue;
    declarations.push({
      name,
      type,
      required,
      ...(fallback === undefined ? {} : { default: fallback as JsonValue }),
      ...(description === undefined ? {} : { description }),
    });
  }
  return declarations;
}
