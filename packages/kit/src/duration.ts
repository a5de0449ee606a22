const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a duration written for people ("500ms", "30s", "10m", "2h", "7d") into milliseconds, so config
 * never carries bare numbers whose unit a reader has to guess.
 */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) {
    throw new Error(`"${text}" is not a duration; write a whole number and a unit: ms, s, m, h or d (e.g. "30s")`);
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
