import type { FieldViolation } from '@foundation/kit';
import type { JsonValue } from '@foundation/workflow-dsl';

/**
 * Text that JSON carries but PostgreSQL's jsonb, where runs live, refuses: U+0000, and half of a surrogate
 * pair (which only JSON, not UTF-8, can carry). Refused where outside JSON enters a run, naming the field,
 * rather than failing the insert as an internal error.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string or key anywhere in `value` holds such text. */
export function hasUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return UNSTORABLE.test(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, item]) => UNSTORABLE.test(key) || hasUnstorableText(item));
}

/**
 * Violations for a run's inputs and trigger output that hold such text. Only a webhook delivers outside
 * JSON as its trigger output (its request body): manual starts deliver their inputs, checked first, and
 * schedules and retries deliver JSON that was stored already.
 */
export function unstorableViolations(inputs: { [name: string]: JsonValue }, triggerOutput: JsonValue | undefined): FieldViolation[] {
  const description = 'holds U+0000 or half of a surrogate pair, which a run cannot store';
  const violations = Object.entries(inputs)
    .filter(([, value]) => hasUnstorableText(value))
    .map(([name]) => ({ field: `inputs.${name}`, description }));
  if (violations.length === 0 && hasUnstorableText(triggerOutput)) violations.push({ field: 'body', description });
  return violations;
}
