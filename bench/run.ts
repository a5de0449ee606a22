/**
 * `npm run bench`: GetMe through the full path (authentication, tenant membership, a database read)
 * against the bare MetaService/Echo on the same server, in the same run, over gRPC and over Connect, at 1
 * and 32 calls in flight. See docs/benchmarks.md for what it measures and the latest figures.
 *
 * This process is the server: it starts the whole platform (`--target=all`, default configuration, info
 * logging formatted and then discarded) with the test harness, signs up an account and creates an org, then
 * starts bench/load-client.ts in a process of its own and prints what it measured. It reports; it never
 * fails on a missed target.
 *
 * Environment (all optional): BENCH_PROTOCOLS (grpc,connect-h1[,connect-h2]), BENCH_CONCURRENCY (1,32),
 * BENCH_WARMUP_MS (2000), BENCH_SLICE_MS (4000), BENCH_SLICES (2 measured slices per call and case),
 * BENCH_JSON (a file to write the raw results to), BENCH_CPU_PROFILE (a file to write a CPU profile of the
 * server process during the load to, for Chrome DevTools or `npx speedscope`).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { stopTestPostgres } from '@foundation/db';
import { signUp, startTestPlatform } from '@foundation/testing';
import type { CaseResult, LoadResults, Protocol, SliceMessage } from './load-client.js';

/** The targets of the issue: at 32 in flight, GetMe keeps half of echo's throughput and at most twice its p99. */
const TARGET_RPS_RATIO = 0.5;
const TARGET_P99_RATIO = 2;
/** At 1 in flight, GetMe's median under 2 ms. */
const TARGET_P50_AT_1_MS = 2;

interface ServerCpu {
  /** Seconds of server-process CPU and of the whole machine's busy CPU, over the measured slices. */
  serverCpuS: number;
  machineBusyS: number;
  wallS: number;
}

async function main(): Promise<void> {
  const platform = await startTestPlatform({ discardLogs: true });
  try {
    const account = await signUp(platform.grpc, 'Bench User');
    const { org } = await platform.grpc.org.createOrg({ name: 'Bench', slug: `bench-${Date.now().toString(36)}` }, account.as);
    const profile = process.env.BENCH_CPU_PROFILE ? await startCpuProfile() : undefined;
    const { results, cpu } = await runLoadClient(platform.baseUrl, account.accessToken, org!.id);
    if (profile) writeFileSync(process.env.BENCH_CPU_PROFILE!, JSON.stringify(await profile.stop()));
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ ...results, cpu: Object.fromEntries(cpu) }, null, 2));
    console.log(report(results, cpu));
  } finally {
    await platform.close();
    await stopTestPostgres();
  }
}

/** Profiles this process (the server) from now until stop(): only the load, not the start-up. */
async function startCpuProfile(): Promise<{ stop(): Promise<object> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/** Starts the load client in its own process and samples this (the server's) process CPU over its slices. */
function runLoadClient(baseUrl: string, token: string, orgId: string): Promise<{ results: LoadResults; cpu: Map<string, ServerCpu> }> {
  const script = fileURLToPath(new URL('./load-client.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, BENCH_BASE_URL: baseUrl, BENCH_TOKEN: token, BENCH_ORG_ID: orgId },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const cpu = new Map<string, ServerCpu>();
  let open: { key: string; cpu: NodeJS.CpuUsage; machine: number; at: bigint } | undefined;
  child.on('message', (m: SliceMessage) => {
    const key = caseKey(m.protocol, m.concurrency, m.call);
    if (m.slice === 'start') {
      open = { key, cpu: process.cpuUsage(), machine: machineBusySeconds(), at: process.hrtime.bigint() };
      return;
    }
    if (!open || open.key !== key) return;
    const used = process.cpuUsage(open.cpu);
    const sum = cpu.get(key) ?? { serverCpuS: 0, machineBusyS: 0, wallS: 0 };
    sum.serverCpuS += (used.user + used.system) / 1e6;
    sum.machineBusyS += machineBusySeconds() - open.machine;
    sum.wallS += Number(process.hrtime.bigint() - open.at) / 1e9;
    cpu.set(key, sum);
    open = undefined;
  });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the load client exited with ${code}`));
      try {
        resolve({ results: JSON.parse(stdout) as LoadResults, cpu });
      } catch (e) {
        reject(new Error(`the load client printed no results: ${(e as Error).message}`));
      }
    });
  });
}

function caseKey(protocol: Protocol, concurrency: number, call: string): string {
  return `${protocol}/${concurrency}/${call}`;
}

/** CPU seconds the whole machine spent not idle, from /proc/stat (0 where there is none). */
function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as number[];
    void idle;
    void iowait;
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

function report(results: LoadResults, cpu: Map<string, ServerCpu>): string {
  const s = results.settings;
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `GetMe (authn + tenant + database) vs Echo, same server, client in its own process — ` +
      `warm-up ${s.warmupMs / 1000} s per call, ${s.slicesPerCall} × ${s.sliceMs / 1000} s measured per call, interleaved`,
  );
  lines.push(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  lines.push('');
  const header = ['protocol', 'conc', 'echo rps', 'p50 ms', 'p99 ms', 'GetMe rps', 'p50 ms', 'p99 ms', 'rps ratio', 'p99 ratio', 'targets'];
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  const errors: string[] = [];
  for (const protocol of s.protocols) {
    for (const concurrency of s.concurrencies) {
      const find = (call: string) => results.cases.find((c) => c.protocol === protocol && c.concurrency === concurrency && c.call === call)!;
      const echo = find('echo');
      const me = find('getMe');
      for (const c of [echo, me]) if (c.errors > 0) errors.push(`${protocol} × ${concurrency} ${c.call}: ${c.errors} errors, first: ${c.firstError}`);
      const rpsRatio = me.rps / echo.rps;
      const p99Ratio = me.p99Ms / echo.p99Ms;
      rows.push([
        protocol,
        String(concurrency),
        fmt(echo.rps, 0),
        fmt(echo.p50Ms, 2),
        fmt(echo.p99Ms, 2),
        fmt(me.rps, 0),
        fmt(me.p50Ms, 2),
        fmt(me.p99Ms, 2),
        fmt(rpsRatio, 2),
        fmt(p99Ratio, 2),
        targets(concurrency, me, rpsRatio, p99Ratio),
      ]);
      for (const c of [echo, me]) {
        const server = cpu.get(caseKey(protocol, concurrency, c.call));
        cpuRows.push([
          protocol,
          String(concurrency),
          c.call,
          server ? fmt(server.serverCpuS / server.wallS, 2) : '?',
          fmt(c.clientCores, 2),
          server?.machineBusyS ? fmt(server.machineBusyS / server.wallS - server.serverCpuS / server.wallS - c.clientCores, 2) : '?',
          server ? fmt((server.serverCpuS * 1e6) / (c.rps * server.wallS), 0) : '?',
        ]);
      }
    }
  }
  lines.push(...table(header, rows));
  lines.push('');
  lines.push(
    `targets: at 32, GetMe rps ≥ ${TARGET_RPS_RATIO} × echo and p99 ≤ ${TARGET_P99_RATIO} × echo; at 1, GetMe p50 < ${TARGET_P50_AT_1_MS} ms`,
  );
  lines.push('');
  lines.push('CPU over the measured slices (cores busy; 1 = one core):');
  lines.push(...table(['protocol', 'conc', 'call', 'server', 'client', 'other', 'server µs/call'], cpuRows));
  lines.push('(other: the rest of the machine — PostgreSQL, Redis, and anything else running; for echo it should be ~0)');
  if (errors.length > 0) lines.push('', 'ERRORS:', ...errors);
  return lines.join('\n');
}

function targets(concurrency: number, me: CaseResult, rpsRatio: number, p99Ratio: number): string {
  const mark = (ok: boolean) => (ok ? '✓' : '✗');
  const parts: string[] = [];
  if (concurrency === 32) {
    parts.push(`rps ${mark(rpsRatio >= TARGET_RPS_RATIO)}`, `p99 ${mark(p99Ratio <= TARGET_P99_RATIO)}`);
  }
  if (concurrency === 1) parts.push(`p50 ${mark(me.p50Ms < TARGET_P50_AT_1_MS)}`);
  return parts.join(' ') || '—';
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const textual = new Set(['protocol', 'call', 'targets']);
  const line = (cells: string[]) => cells.map((c, i) => (textual.has(header[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    // A missed target is a figure, not a failure; a bench that could not run at all is one.
    console.error('bench failed:', e);
    process.exit(1);
  },
);
