/** Lenient readers of parsed engine JSON: a field of the wrong type reads as absent, never as a crash. */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function recordAt(value: unknown): JsonRecord | undefined {
  return isRecord(value) ? value : undefined;
}

export function stringAt(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function numberAt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function arrayAt(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A token count as the int64 the contract carries. */
export function tokens(value: unknown): bigint {
  const count = numberAt(value);
  return count === undefined ? 0n : BigInt(Math.max(0, Math.trunc(count)));
}
