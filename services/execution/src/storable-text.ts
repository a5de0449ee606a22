import type { JsonValue } from '@foundation/workflow-dsl';

/**
 * Text that JSON carries but PostgreSQL's jsonb, where the workflow service stores runs, refuses: U+0000,
 * and half of a surrogate pair. A report holding it would fail for good, the run would be given up, and
 * each recovery would repeat the node and fail the same way.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const EVERY_UNSTORABLE = new RegExp(UNSTORABLE.source, 'g');

/** Whether a string or key anywhere in a node's output holds such text: the output cannot be reported. */
export function hasUnstorableText(value: JsonValue): boolean {
  if (typeof value === 'string') return UNSTORABLE.test(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, item]) => UNSTORABLE.test(key) || hasUnstorableText(item));
}

/** A message for people with such text replaced by U+FFFD: its exact characters do not matter, being stored does. */
export function storableText(text: string): string {
  return text.replace(EVERY_UNSTORABLE, '\uFFFD');
}
