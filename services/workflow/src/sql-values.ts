/**
 * Column values as raw queries return them. MikroORM's PostgreSQL driver leaves timestamps as text (its
 * entities convert them), so raw rows are converted here, in one place.
 */
export function dateOf(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

export function optionalDateOf(value: unknown): Date | null {
  return value === null || value === undefined ? null : dateOf(value);
}
