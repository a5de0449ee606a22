/** The median, 99th percentile and maximum of some latencies (NaN for none), nearest-rank. */
export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}
