import { createHash, randomInt } from 'node:crypto';

/** Letters and digits a person reads and types without confusing them: no 0/O, 1/I/L, 5/S, 8/B, 2/Z. */
const ALPHABET = 'ACDEFGHJKMNPQRTUVWXY34679';
const HALF_LENGTH = 3;

/** A new code as a person reads it, for example "K7P-92Q" (25^6 ≈ 244 million values). */
export function generatePairingCode(): string {
  const half = () => Array.from({ length: HALF_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return `${half()}-${half()}`;
}

/**
 * The code as stored and compared: upper case without the dash or spaces (the proto lets case and the
 * dash not matter), or undefined when it cannot be a code at all.
 */
export function normalizePairingCode(text: string): string | undefined {
  const compact = text.replace(/[\s-]/g, '').toUpperCase();
  if (compact.length !== 2 * HALF_LENGTH) return undefined;
  return [...compact].every((c) => ALPHABET.includes(c)) ? compact : undefined;
}

/**
 * What the database keeps of a code. A plain SHA-256 suffices: a code lives minutes and is single use, so
 * a leaked table is worth nothing by the time its codes could be searched.
 */
export function hashPairingCode(normalized: string): string {
  return createHash('sha256').update(`pairing:${normalized}`).digest('base64url');
}
