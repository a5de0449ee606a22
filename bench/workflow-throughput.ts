/**
 * The workflow benchmark of `npm run bench`: end-to-end runs of a 3-node workflow (manual trigger →
 * transform → transform) with every event persisted, at worker concurrency 1, 8 and 32, beside raw BullMQ
 * jobs (empty processor) on the same Redis, measured in the same run. docs/benchmarks.md explains it.
 *
 * Per concurrency it starts the whole platform (`--target=all`: workflow service, worker, PostgreSQL,
 * Redis) with the test harness and measures:
 * - light load: runs one after another, each timed from the StartRun call to the end of its WatchRun
 *   stream (the stream ends with `run.succeeded`), as a user sees it;
 * - throughput: BENCH_WORKFLOW_RUNS runs started with 64 StartRun calls in flight; runs/s from the first
 *   start to the last end, and each run's latency from its creation to its end (server timestamps);
 * - raw BullMQ: the same number of jobs through an empty processor at the same concurrency.
 *
 * BENCH_WORKFLOWS_CPU_PROFILE=<prefix> writes a CPU profile of this process during each throughput
 * measurement to `<prefix>-<concurrency>.cpuprofile`.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fromJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { RunStatus, WorkflowSpecSchema, type Run } from '@foundation/contracts';
import { inOrg, signUp, startTestPlatform, type TestPlatform } from '@foundation/testing';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startCpuProfile } from './cpu-profile.js';

const TARGET_RUNS_PER_S = 300;
const TARGET_LIGHT_P50_MS = 30;
const STARTS_IN_FLIGHT = 64;

const THREE_NODES = {
  inputs: [{ name: 'n', type: 'number', required: true }],
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    { id: 'double', type: 'transform', config: { expression: 'inputs.n * 2' } },
    { id: 'describe', type: 'transform', config: { expression: '{ "value": nodes.double.output }' } },
  ],
  edges: [
    { from: 'start', to: 'double' },
    { from: 'double', to: 'describe' },
  ],
};

interface ConcurrencyResult {
  concurrency: number;
  lightP50Ms: number;
  lightP99Ms: number;
  runsPerS: number;
  loadP50Ms: number;
  loadP99Ms: number;
  failed: number;
  rawJobsPerS: number;
}

export async function benchWorkflowThroughput(): Promise<string> {
  const concurrencies = (process.env.BENCH_WORKER_CONCURRENCY ?? '1,8,32').split(',').map(Number);
  const runs = Number(process.env.BENCH_WORKFLOW_RUNS ?? 2000);
  const lightRuns = Number(process.env.BENCH_LIGHT_RUNS ?? 100);
  const results: ConcurrencyResult[] = [];
  for (const concurrency of concurrencies) {
    process.stderr.write(`bench: workflows at worker concurrency ${concurrency} …\n`);
    const platform = await startTestPlatform({
      discardLogs: true,
      env: { FOUNDATION_WORKER_CONCURRENCY: String(concurrency), FOUNDATION_ORG_MAX_RUNNING_RUNS: '1000' },
    });
    try {
      results.push(await measure(platform, concurrency, runs, lightRuns));
    } finally {
      await platform.close();
    }
  }
  return report(results, runs, lightRuns);
}

async function measure(platform: TestPlatform, concurrency: number, runs: number, lightRuns: number): Promise<ConcurrencyResult> {
  const account = await signUp(platform.grpc, 'Bench User');
  const { org } = await platform.grpc.org.createOrg({ name: 'Bench', slug: `bench-${Date.now().toString(36)}` }, account.as);
  const as = inOrg(account, org!.id);
  const { workflow } = await platform.grpc.workflows.createWorkflow(
    { name: 'three nodes', spec: fromJson(WorkflowSpecSchema, THREE_NODES as JsonObject) },
    as,
  );
  await platform.grpc.workflows.publishWorkflow({ workflowId: workflow!.id }, as);
  const start = () => platform.grpc.runs.startRun({ workflowId: workflow!.id, inputs: { n: 21 } }, as);

  // Warm-up: compile caches, connection pools, JIT.
  for (let i = 0; i < 20; i++) await drain(platform, (await start()).run!.id, as);

  const light: number[] = [];
  for (let i = 0; i < lightRuns; i++) {
    const began = performance.now();
    await drain(platform, (await start()).run!.id, as);
    light.push(performance.now() - began);
  }

  const profilePrefix = process.env.BENCH_WORKFLOWS_CPU_PROFILE;
  const profile = profilePrefix ? await startCpuProfile() : undefined;
  const ids: string[] = [];
  let next = 0;
  const began = Date.now();
  await Promise.all(
    Array.from({ length: STARTS_IN_FLIGHT }, async () => {
      while (next < runs) {
        next++;
        ids.push((await start()).run!.id);
      }
    }),
  );
  const ended = await waitForAll(platform, workflow!.id, as, ids.length, began);
  if (profile) writeFileSync(`${profilePrefix}-${concurrency}.cpuprofile`, JSON.stringify(await profile.stop()));
  const latencies = ended.map((r) => timestampMs(r.endTime!) - timestampMs(r.createTime!));
  const lastEnd = Math.max(...ended.map((r) => timestampMs(r.endTime!)));
  const firstCreate = Math.min(...ended.map((r) => timestampMs(r.createTime!)));
  return {
    concurrency,
    lightP50Ms: percentile(light, 0.5),
    lightP99Ms: percentile(light, 0.99),
    runsPerS: (ended.length * 1000) / (lastEnd - firstCreate),
    loadP50Ms: percentile(latencies, 0.5),
    loadP99Ms: percentile(latencies, 0.99),
    failed: ended.filter((r) => r.status !== RunStatus.SUCCEEDED).length,
    rawJobsPerS: await rawBullMqJobsPerS(platform.redis.url, concurrency, runs),
  };
}

/** Follows a run's events to its end: the stream closes after the terminal event. */
async function drain(platform: TestPlatform, runId: string, as: ReturnType<typeof inOrg>): Promise<void> {
  for await (const _ of platform.grpc.runs.watchRun({ runId }, as));
}

/**
 * The runs of this measurement once all have ended. While runs are under way it only asks whether any is
 * still queued or running (one row each), so the bench's polling stays a small load beside the runs.
 */
async function waitForAll(platform: TestPlatform, workflowId: string, as: ReturnType<typeof inOrg>, count: number, since: number): Promise<Run[]> {
  const anyIn = async (status: RunStatus) => (await platform.grpc.runs.listRuns({ workflowId, status, page: { pageSize: 1 } }, as)).runs.length > 0;
  while ((await anyIn(RunStatus.QUEUED)) || (await anyIn(RunStatus.RUNNING))) await new Promise((resolve) => setTimeout(resolve, 500));
  const runs: Run[] = [];
  let pageToken = '';
  do {
    const page = await platform.grpc.runs.listRuns({ workflowId, page: { pageSize: 200, pageToken } }, as);
    runs.push(...page.runs.filter((run) => timestampMs(run.createTime!) >= since));
    pageToken = page.page?.nextPageToken ?? '';
  } while (pageToken !== '');
  if (runs.length < count) throw new Error(`expected ${count} runs, found ${runs.length}`);
  return runs;
}

/** Jobs per second through BullMQ alone: add `count` jobs, an empty processor at `concurrency` completes them. */
async function rawBullMqJobsPerS(redisUrl: string, concurrency: number, count: number): Promise<number> {
  const name = `bench-raw-${concurrency}`;
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const consumer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: producer });
  let completed = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const worker = new Worker(name, async () => undefined, { connection: consumer, concurrency });
  worker.on('completed', () => {
    if (++completed === count) resolveDone();
  });
  await worker.waitUntilReady();
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: STARTS_IN_FLIGHT }, async () => {
      while (next < count) {
        next++;
        await queue.add('job', { orgId: 'bench' }, { removeOnComplete: true });
      }
    }),
  );
  await done;
  const perS = (count * 1000) / (performance.now() - began);
  await worker.close();
  await queue.close();
  producer.disconnect();
  consumer.disconnect();
  return perS;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function report(results: ConcurrencyResult[], runs: number, lightRuns: number): string {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  const header = ['worker conc', 'light p50 ms', 'light p99 ms', 'runs/s', 'p50 ms', 'p99 ms', 'failed', 'raw BullMQ jobs/s', 'ratio', 'targets'];
  const rows = results.map((r) => [
    String(r.concurrency),
    f(r.lightP50Ms),
    f(r.lightP99Ms),
    f(r.runsPerS, 0),
    f(r.loadP50Ms),
    f(r.loadP99Ms),
    String(r.failed),
    f(r.rawJobsPerS, 0),
    f(r.runsPerS / r.rawJobsPerS, 3),
    `runs/s ${r.runsPerS >= TARGET_RUNS_PER_S ? '✓' : '✗'} light p50 ${r.lightP50Ms < TARGET_LIGHT_P50_MS ? '✓' : '✗'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [
    '',
    `Workflow runs (manual → transform → transform, every event persisted), whole platform in this process; ` +
      `${lightRuns} sequential runs for light load, then ${runs} runs with ${STARTS_IN_FLIGHT} StartRun calls in flight`,
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `targets: ≥ ${TARGET_RUNS_PER_S} runs/s; p50 < ${TARGET_LIGHT_P50_MS} ms at light load (StartRun to run.succeeded). ratio = runs/s ÷ raw BullMQ jobs/s`,
  ].join('\n');
}

