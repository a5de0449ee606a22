import type { JsonValue } from '@foundation/connectors';

/** The types a run input may declare. */
export const INPUT_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const;

export type InputType = (typeof INPUT_TYPES)[number];

export function isInputType(value: unknown): value is InputType {
  return (INPUT_TYPES as readonly unknown[]).includes(value);
}

/** Whether a (JSON) value has the declared type; `integer` is a number without a fraction. */
export function hasInputType(value: unknown, type: InputType): value is JsonValue {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
  }
}

/** The message for a value that does not have the declared type. */
export function inputTypeMessage(type: InputType): string {
  return `must be ${type === 'array' || type === 'object' || type === 'integer' ? 'an' : 'a'} ${type}`;
}
