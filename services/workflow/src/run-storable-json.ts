import type { FieldViolation } from '@foundation/kit';
import { hasUnstorableText, type JsonValue } from '@foundation/workflow-dsl';

/**
 * Violations for a run's inputs and trigger output that hold text PostgreSQL cannot store (see
 * `hasUnstorableText`). Only a webhook delivers outside JSON as its trigger output (its request body):
 * manual starts deliver their inputs, checked first, and schedules and retries deliver JSON that was
 * stored already.
 */
export function unstorableViolations(inputs: { [name: string]: JsonValue }, triggerOutput: JsonValue | undefined): FieldViolation[] {
  const description = 'holds U+0000 or half of a surrogate pair, which a run cannot store';
  const violations = Object.entries(inputs)
    .filter(([, value]) => hasUnstorableText(value))
    .map(([name]) => ({ field: `inputs.${name}`, description }));
  if (violations.length === 0 && hasUnstorableText(triggerOutput)) violations.push({ field: 'body', description });
  return violations;
}
