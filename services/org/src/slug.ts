import type { FieldViolation } from '@foundation/kit';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$/;

/** Slugs name orgs in URLs: 3–40 of `[a-z0-9-]`, starting and ending with a letter or digit. */
export function slugViolations(field: string, slug: string): FieldViolation[] {
  if (slug === '') return [{ field, description: 'is required' }];
  if (!SLUG.test(slug)) return [{ field, description: 'must be 3 to 40 lower-case letters, digits or hyphens, starting and ending with a letter or digit' }];
  return [];
}
