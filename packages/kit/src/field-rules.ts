import { validate as validateUuid } from 'uuid';
import type { FieldViolation } from './rpc-error.js';

/**
 * A required single-line name (display names, org names, token names): not blank, at most `max`
 * characters (code points, not bytes), no control characters.
 */
export function nameViolations(field: string, name: string, max = 100): FieldViolation[] {
  const trimmed = name.trim();
  if (trimmed === '') return [{ field, description: 'is required' }];
  if ([...trimmed].length > max) return [{ field, description: `must be at most ${max} characters` }];
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return [{ field, description: 'must not contain control characters' }];
  return [];
}

export function isUuid(value: string): boolean {
  return validateUuid(value);
}

/** A required id field that must be a UUID. */
export function uuidViolations(field: string, value: string): FieldViolation[] {
  if (value === '') return [{ field, description: 'is required' }];
  if (!isUuid(value)) return [{ field, description: 'must be a UUID' }];
  return [];
}

/** Where a replay of events starts: after this seq, 0 for the first. */
export function afterSeqViolations(afterSeq: bigint): FieldViolation[] {
  return afterSeq < 0n ? [{ field: 'after_seq', description: 'must be 0 or more' }] : [];
}
