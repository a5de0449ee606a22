/** Limits and defaults of the DSL, as the proto documents them; one place so validation and compilation agree. */

/** Node ids and input names: what an expression can write after `nodes.` or `inputs.` without quoting. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const IDENTIFIER_HINT = '1 to 64 letters, digits or _, not starting with a digit';

export const MAX_NODES = 200;
export const MAX_NODE_NAME_LENGTH = 200;

/** A secret's name as the secrets service stores it. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** How long a duration field may be, and what its absence means. */
export interface DurationLimit {
  defaultMs: number;
  /** Zero is allowed only where waiting no time makes sense (a delay). */
  minMs: number;
  maxMs: number;
  /** The maximum as the author writes it, for messages. */
  maxText: string;
}

export const NODE_TIMEOUT: DurationLimit = { defaultMs: 5 * MINUTE, minMs: 1, maxMs: 24 * HOUR, maxText: '24h' };
export const RUN_TIMEOUT: DurationLimit = { defaultMs: HOUR, minMs: 1, maxMs: 24 * HOUR, maxText: '24h' };
export const DELAY_DURATION: DurationLimit = { defaultMs: 0, minMs: 0, maxMs: 24 * HOUR, maxText: '24h' };
export const INITIAL_BACKOFF: DurationLimit = { defaultMs: SECOND, minMs: 1, maxMs: 24 * HOUR, maxText: '24h' };
export const MAX_BACKOFF: DurationLimit = { defaultMs: MINUTE, minMs: 1, maxMs: 24 * HOUR, maxText: '24h' };

export const MAX_ATTEMPTS = { min: 1, max: 10 } as const;
/** Backoff growth; the proto's 0 (unset) means this default. */
export const BACKOFF_MULTIPLIER = { min: 1, max: 10, default: 2 } as const;
