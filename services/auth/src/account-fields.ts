import type { FieldViolation } from '@foundation/kit';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;
const EMAIL_MAX = 254;
/** Deliberately loose: one @, something on both sides, a dot in the domain, no spaces. */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Emails are compared after trimming and lower-casing, so "Ada@Example.com " and "ada@example.com" are one account. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailViolations(field: string, email: string): FieldViolation[] {
  const normalized = normalizeEmail(email);
  if (normalized === '') return [{ field, description: 'is required' }];
  if (normalized.length > EMAIL_MAX) return [{ field, description: `must be at most ${EMAIL_MAX} characters` }];
  if (!EMAIL_SHAPE.test(normalized)) return [{ field, description: 'is not an email address' }];
  return [];
}

export function passwordViolations(field: string, password: string): FieldViolation[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return [{ field, description: `must be at least ${PASSWORD_MIN} characters` }];
  if (length > PASSWORD_MAX) return [{ field, description: `must be at most ${PASSWORD_MAX} characters` }];
  return [];
}
