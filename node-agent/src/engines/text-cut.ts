/** What the normalized events keep of a tool's output or of a raw line: 64 KiB, as the contract says. */
export const KEPT_TEXT_BYTES = 64 * 1024;

export interface CutText {
  text: string;
  truncated: boolean;
}

/**
 * Cuts `text` to at most `maxBytes` of UTF-8, never in the middle of a character, so an engine's
 * 5 MB output line becomes an event the brain's stream still carries.
 */
export function cutUtf8(text: string, maxBytes: number = KEPT_TEXT_BYTES): CutText {
  // A JS string never takes more UTF-8 bytes than 3 per UTF-16 unit: most texts skip the encoding.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, truncated: false };
  const kept = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A character cut in half decodes to U+FFFD at the very end: drop it rather than keep a false character.
  return { text: kept.endsWith('\uFFFD') ? kept.slice(0, -1) : kept, truncated: true };
}
