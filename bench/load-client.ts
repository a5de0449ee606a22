/**
 * The load generator of `npm run bench`, in its own process so it never shares an event loop with the
 * server. bench/run.ts starts it; it can also be pointed at any running platform:
 *
 *   BENCH_BASE_URL=http://127.0.0.1:8080 BENCH_TOKEN=<access token> BENCH_ORG_ID=<org id> \
 *     node --import tsx bench/load-client.ts
 *
 * Closed loop: N workers each keep one call in flight. For every protocol and concurrency it warms both
 * calls up, then measures echo and GetMe in short interleaved slices (echo, GetMe, GetMe, echo, …) so that
 * drift and noise land on both. Results go to stdout as one JSON document; progress goes to stderr.
 *
 * Started by run.ts (with an IPC channel), it reports the start and end of every measured slice and waits
 * for a verdict: run.ts measures where the machine's CPU went during the slice and rejects a slice that
 * something outside the benchmark disturbed, which is then measured again.
 */
import { createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { AuthService, MetaService, Role } from '@foundation/contracts';
import { caseKey, type Call, type CaseResult, type LoadResults, type Protocol, type Settings, type SliceMessage, type SliceVerdict } from './cases.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function transportFor(protocol: Protocol, baseUrl: string): Transport {
  switch (protocol) {
    case 'grpc':
      return createGrpcTransport({ baseUrl });
    case 'connect-h1':
      return createConnectTransport({ baseUrl, httpVersion: '1.1' });
    case 'connect-h2':
      return createConnectTransport({ baseUrl, httpVersion: '2' });
    default:
      throw new Error(`unknown protocol ${String(protocol)}; use grpc, connect-h1 or connect-h2`);
  }
}

type CallFn = () => Promise<unknown>;

/** Latencies and errors of one slice or one whole case. */
class Recorder {
  latenciesMs: number[] = [];
  errors = 0;
  firstError: string | undefined;
  seconds = 0;

  add(other: Recorder): void {
    for (const ms of other.latenciesMs) this.latenciesMs.push(ms);
    this.errors += other.errors;
    this.firstError ??= other.firstError;
    this.seconds += other.seconds;
  }
}

/** Runs `concurrency` closed-loop workers for `ms`; records the calls that complete inside the window. */
async function drive(call: CallFn, concurrency: number, ms: number, into?: Recorder): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  let open = true;
  const worker = async () => {
    while (open) {
      const t0 = process.hrtime.bigint();
      let failed: unknown;
      try {
        await call();
      } catch (e) {
        failed = e;
      }
      const t1 = process.hrtime.bigint();
      if (t1 > deadline) {
        open = false;
        break;
      }
      if (!into) continue;
      if (failed === undefined) into.latenciesMs.push(Number(t1 - t0) / 1e6);
      else {
        into.errors++;
        into.firstError ??= String(failed);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (into) into.seconds += ms / 1000;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarize(protocol: Protocol, concurrency: number, call: Call, r: Recorder, discardedSlices: number): CaseResult {
  const sorted = Float64Array.from(r.latenciesMs).sort();
  return {
    protocol,
    concurrency,
    call,
    calls: sorted.length,
    errors: r.errors,
    ...(r.firstError && { firstError: r.firstError }),
    seconds: r.seconds,
    rps: sorted.length / r.seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    discardedSlices,
  };
}

/** Tells run.ts a slice starts or ends; at the end, waits for its verdict (accept when run alone). */
function sliceBoundary(message: SliceMessage): Promise<SliceVerdict> {
  if (!process.send) return Promise.resolve({ accept: true });
  process.send(message);
  if (message.slice === 'start') return Promise.resolve({ accept: true });
  return new Promise((resolve) => process.once('message', (verdict: SliceVerdict) => resolve(verdict)));
}

async function main(): Promise<void> {
  const env = process.env;
  const settings: Settings = {
    baseUrl: required('BENCH_BASE_URL'),
    protocols: (env.BENCH_PROTOCOLS ?? 'grpc,connect-h1').split(',').map((p) => p.trim() as Protocol),
    concurrencies: (env.BENCH_CONCURRENCY ?? '1,32').split(',').map(Number),
    warmupMs: Number(env.BENCH_WARMUP_MS ?? 1000),
    sliceMs: Number(env.BENCH_SLICE_MS ?? 2000),
    slicesPerCall: Number(env.BENCH_SLICES ?? 4),
  };
  const tenantCall = { headers: { authorization: `Bearer ${required('BENCH_TOKEN')}`, 'x-org-id': required('BENCH_ORG_ID') } };

  const cases: CaseResult[] = [];
  for (const protocol of settings.protocols) {
    const transport = transportFor(protocol, settings.baseUrl);
    const meta = createClient(MetaService, transport);
    const auth = createClient(AuthService, transport);
    const calls: Record<Call, CallFn> = {
      echo: () => meta.echo({ message: 'hello' }),
      getMe: () => auth.getMe({}, tenantCall),
    };
    // One of each first: GetMe must really take the tenant path (the org's owner), or the figures lie.
    if ((await meta.echo({ message: 'hello' })).message !== 'hello') throw new Error(`${protocol}: echo answered something else`);
    const me = await auth.getMe({}, tenantCall);
    if (!me.user?.id || me.orgRole !== Role.OWNER) throw new Error(`${protocol}: GetMe in the org should answer its owner, got role ${me.orgRole}`);

    for (const concurrency of settings.concurrencies) {
      process.stderr.write(`bench: ${protocol} × ${concurrency} …\n`);
      await drive(calls.echo, concurrency, settings.warmupMs);
      await drive(calls.getMe, concurrency, settings.warmupMs);
      const recorders: Record<Call, Recorder> = { echo: new Recorder(), getMe: new Recorder() };
      const discarded: Record<Call, number> = { echo: 0, getMe: 0 };
      // ABBA: echo, GetMe, GetMe, echo, echo, GetMe, …
      const order: Call[] = [];
      for (let i = 0; i < settings.slicesPerCall; i++) order.push(...(i % 2 === 0 ? (['echo', 'getMe'] as const) : (['getMe', 'echo'] as const)));
      for (const call of order) {
        const key = caseKey(protocol, concurrency, call);
        for (;;) {
          const slice = new Recorder();
          await sliceBoundary({ slice: 'start', key });
          await drive(calls[call], concurrency, settings.sliceMs, slice);
          if ((await sliceBoundary({ slice: 'end', key })).accept) {
            recorders[call].add(slice);
            break;
          }
          discarded[call]++;
        }
      }
      for (const call of ['echo', 'getMe'] as const) cases.push(summarize(protocol, concurrency, call, recorders[call], discarded[call]));
    }
  }
  const results: LoadResults = { settings, cases };
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().then(
  () => {
    process.disconnect?.();
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`bench client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
