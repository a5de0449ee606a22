import type { JsonValue } from './spec-json.js';

/**
 * Text that JSON carries but PostgreSQL's jsonb, where runs are stored, refuses: U+0000, and half of a
 * surrogate pair (which only JSON, not UTF-8, can carry). The workflow service refuses it where outside
 * JSON enters a run (inputs, a webhook body), naming the field; the worker fails a node whose output holds
 * it, since reporting that output would fail for good and every recovery would repeat the node.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const EVERY_UNSTORABLE = new RegExp(UNSTORABLE.source, 'g');

/** Whether a string or key anywhere in `value` holds such text. */
export function hasUnstorableText(value: JsonValue | undefined): boolean {
  if (typeof value === 'string') return UNSTORABLE.test(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, item]) => UNSTORABLE.test(key) || hasUnstorableText(item));
}

/** Text for people with such characters replaced by U+FFFD: their exact form does not matter, being stored does. */
export function storableText(text: string): string {
  return text.replace(EVERY_UNSTORABLE, '\uFFFD');
}
