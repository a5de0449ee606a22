/** What bench/run.ts and bench/load-client.ts exchange. */

export type Protocol = 'grpc' | 'connect-h1' | 'connect-h2';
export type Call = 'echo' | 'getMe';

export interface CaseResult {
  protocol: Protocol;
  concurrency: number;
  call: Call;
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Slices measured and thrown away because the machine was busy with something else. */
  discardedSlices: number;
}

export interface LoadResults {
  settings: Settings;
  cases: CaseResult[];
}

/** Client → run.ts around each measured slice. */
export type SliceMessage = { slice: 'start' | 'end'; key: string };
/** run.ts → client after a slice's end. */
export type SliceVerdict = { accept: boolean };

export interface Settings {
  baseUrl: string;
  protocols: Protocol[];
  concurrencies: number[];
  warmupMs: number;
  sliceMs: number;
  slicesPerCall: number;
}

export function caseKey(protocol: Protocol, concurrency: number, call: Call): string {
  return `${protocol}/${concurrency}/${call}`;
}
