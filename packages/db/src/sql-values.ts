/** Timestamp columns as a Date whichever driver configuration produced the row (Date or ISO text). */
export function dateOf(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

export function optionalDateOf(value: unknown): Date | null {
  return value === null || value === undefined ? null : dateOf(value);
}
