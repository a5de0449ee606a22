import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ActionDefinition, JsonSchema } from './catalog.js';
import type { InputProblem } from './connector-errors.js';

/**
 * One Ajv for every action. `allErrors` so a person sees every problem at once; full strict mode so a
 * sloppy schema fails catalog construction instead of logging a warning (`required` inside `then` names
 * properties declared beside it, which strictRequired cannot see). The only format the connectors use is
 * `uri`, defined here as "the WHATWG URL parser accepts it" (the parser the HTTP layer uses), which is why
 * `ajv-formats` is not needed.
 */
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addFormat('uri', (value: string) => URL.canParse(value));

const compiled = new WeakMap<ActionDefinition, ValidateFunction>();

/** Throws unless `schema` is a valid JSON Schema; catches broken output schemas at catalog construction. */
export function assertSchema(schema: JsonSchema, what: string): void {
  if (!ajv.validateSchema(schema)) throw new Error(`invalid ${what}: ${ajv.errorsText(ajv.errors)}`);
}

/**
 * The problems of `input` against the action's input schema, empty when it is valid. Compiled once per
 * action definition and cached for as long as the definition lives.
 */
export function inputValidatorFor(action: ActionDefinition): (input: unknown) => InputProblem[] {
  let validate = compiled.get(action);
  if (validate === undefined) {
    validate = ajv.compile(action.inputSchema);
    compiled.set(action, validate);
  }
  const check = validate;
  return (input) => (check(input) ? [] : (check.errors ?? []).flatMap(toProblem));
}

/**
 * Ajv's errors as `{ path, message }`, pointing at the property itself for missing and unexpected ones.
 * Messages come from the schema (limits, allowed values), never from the input, so no value is echoed.
 */
function toProblem(error: ErrorObject): InputProblem[] {
  const path = toPath(error.instancePath);
  switch (error.keyword) {
    case 'required':
      return [{ path: join(path, String(error.params['missingProperty'])), message: 'is required' }];
    case 'additionalProperties':
      return [{ path: join(path, String(error.params['additionalProperty'])), message: 'is not allowed' }];
    case 'enum':
      return [{ path: path || '(input)', message: `must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}` }];
    case 'if':
      // Reported again by the failing `then` branch, with the specific reason.
      return [];
    default:
      return [{ path: path || '(input)', message: error.message ?? 'is invalid' }];
  }
}

/** `/params/url` → `params.url`; `/labels/0` → `labels[0]`. */
function toPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : join(path, segment)), '');
}

function join(path: string, property: string): string {
  return path === '' ? property : `${path}.${property}`;
}
