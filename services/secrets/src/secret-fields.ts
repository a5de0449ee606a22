import type { FieldViolation } from '@foundation/kit';

/** Values are connector credentials: tokens, keys, a PEM or a service-account JSON fit easily. */
export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_NAME_CHARACTERS = 128;
export const MAX_DESCRIPTION_CHARACTERS = 500;
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Names are referenced from workflow definitions, so they keep to characters that need no quoting. */
export function isSecretName(name: string): boolean {
  return name.length <= MAX_NAME_CHARACTERS && NAME.test(name);
}

export function secretNameViolations(field: string, name: string): FieldViolation[] {
  if (name === '') return [{ field, description: 'is required' }];
  if (!isSecretName(name)) {
    return [{ field, description: `must be 1 to ${MAX_NAME_CHARACTERS} characters of A-Z, a-z, 0-9, "_", "." and "-"` }];
  }
  return [];
}

/** The descriptions never quote the value: an error message is logged and must not carry it. */
export function secretValueViolations(field: string, value: string): FieldViolation[] {
  if (value === '') return [{ field, description: 'is required' }];
  if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) return [{ field, description: `must be at most ${MAX_VALUE_BYTES} bytes as UTF-8` }];
  return [];
}

export function descriptionViolations(field: string, description: string): FieldViolation[] {
  if ([...description].length > MAX_DESCRIPTION_CHARACTERS) return [{ field, description: `must be at most ${MAX_DESCRIPTION_CHARACTERS} characters` }];
  return [];
}
