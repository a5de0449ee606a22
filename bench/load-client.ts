/**
 * The load generator of `npm run bench`, in its own process so it never shares an event loop with the
 * server. bench/run.ts starts it; it can also be pointed at any running platform:
 *
 *   BENCH_BASE_URL=http://127.0.0.1:8080 BENCH_TOKEN=<access token> BENCH_ORG_ID=<org id> \
 *     node --import tsx bench/load-client.ts
 *
 * Closed loop: N workers each keep one call in flight. For every protocol and concurrency it warms both
 * calls up, then measures echo and GetMe in interleaved slices (echo, GetMe, GetMe, echo, …) so drift and
 * noise land on both. Results go to stdout as one JSON document; progress goes to stderr. When started with
 * an IPC channel it tells the parent when each measured slice begins and ends, so the parent can sample
 * the server's CPU over exactly those windows.
 */
import { createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { AuthService, MetaService, Role } from '@foundation/contracts';

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
  /** This client process's CPU over the measured slices, in cores (1 = one core busy). */
  clientCores: number;
}

export interface LoadResults {
  settings: Settings;
  cases: CaseResult[];
}

/** What the parent receives over IPC around each measured slice. */
export type SliceMessage = { slice: 'start' | 'end'; protocol: Protocol; concurrency: number; call: Call };

interface Settings {
  baseUrl: string;
  protocols: Protocol[];
  concurrencies: number[];
  warmupMs: number;
  sliceMs: number;
  slicesPerCall: number;
}

const env = process.env;
const settings: Settings = {
  baseUrl: required('BENCH_BASE_URL'),
  protocols: (env.BENCH_PROTOCOLS ?? 'grpc,connect-h1').split(',').map((p) => p.trim() as Protocol),
  concurrencies: (env.BENCH_CONCURRENCY ?? '1,32').split(',').map(Number),
  warmupMs: Number(env.BENCH_WARMUP_MS ?? 2000),
  sliceMs: Number(env.BENCH_SLICE_MS ?? 4000),
  slicesPerCall: Number(env.BENCH_SLICES ?? 2),
};
const token = required('BENCH_TOKEN');
const orgId = required('BENCH_ORG_ID');
const tenantCall = { headers: { authorization: `Bearer ${token}`, 'x-org-id': orgId } };

function required(name: string): string {
  const value = env[name];
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

function callsOver(transport: Transport): Record<Call, CallFn> {
  const meta = createClient(MetaService, transport);
  const auth = createClient(AuthService, transport);
  return {
    echo: () => meta.echo({ message: 'hello' }),
    getMe: () => auth.getMe({}, tenantCall),
  };
}

/** Latencies of one case, accumulated over its slices. */
class Recorder {
  latenciesMs: number[] = [];
  errors = 0;
  firstError: string | undefined;
  seconds = 0;
  cpuMicros = 0;
}

/** Runs `concurrency` closed-loop workers for `ms`; records calls that complete inside the window. */
async function drive(call: CallFn, concurrency: number, ms: number, into?: Recorder): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(ms * 1e6));
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
  if (into) {
    into.seconds += ms / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    into.cpuMicros += cpu.user + cpu.system;
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarize(protocol: Protocol, concurrency: number, call: Call, r: Recorder): CaseResult {
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
    clientCores: r.cpuMicros / 1e6 / r.seconds,
  };
}

/** One call of each through the protocol, checking that GetMe really went through the tenant path. */
async function sanityCheck(protocol: Protocol, calls: Record<Call, CallFn>, transport: Transport): Promise<void> {
  const echo = (await calls.echo()) as { message: string };
  if (echo.message !== 'hello') throw new Error(`${protocol}: echo answered ${JSON.stringify(echo.message)}`);
  const me = await createClient(AuthService, transport).getMe({}, tenantCall);
  if (!me.user?.id || me.orgRole !== Role.OWNER) {
    throw new Error(`${protocol}: GetMe in the org should answer the user as owner, got role ${me.orgRole}`);
  }
}

function notify(message: SliceMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const cases: CaseResult[] = [];
  for (const protocol of settings.protocols) {
    const transport = transportFor(protocol, settings.baseUrl);
    const calls = callsOver(transport);
    await sanityCheck(protocol, calls, transport);
    for (const concurrency of settings.concurrencies) {
      process.stderr.write(`bench: ${protocol} × ${concurrency} …\n`);
      await drive(calls.echo, concurrency, settings.warmupMs);
      await drive(calls.getMe, concurrency, settings.warmupMs);
      const recorders: Record<Call, Recorder> = { echo: new Recorder(), getMe: new Recorder() };
      // ABBA order: echo, GetMe, GetMe, echo, echo, GetMe, …
      const order: Call[] = [];
      for (let i = 0; i < settings.slicesPerCall; i++) order.push(...((i % 2 === 0 ? ['echo', 'getMe'] : ['getMe', 'echo']) as Call[]));
      for (const call of order) {
        notify({ slice: 'start', protocol, concurrency, call });
        await drive(calls[call], concurrency, settings.sliceMs, recorders[call]);
        notify({ slice: 'end', protocol, concurrency, call });
      }
      for (const call of ['echo', 'getMe'] as const) cases.push(summarize(protocol, concurrency, call, recorders[call]));
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
