/**
 * The `agents` bench of `npm run bench` (BENCH_SUITES=agents): the brain (gateway/brain) and the session
 * service (services/session), whole platform in this process (`--target=all`, default configuration), the
 * simulated nodes and the user's session client in bench/agent-nodes.ts, a process of their own, over real
 * gRPC. docs/benchmarks.md explains it and holds the figures. Three measurements:
 *
 * 1. Idle nodes: BENCH_IDLE_NODES (2,000) paired nodes connected at once, each over its own HTTP/2
 *    connection, heartbeating at the interval their Welcome names (the default, 10 s). This process's
 *    memory after GC with a few warm-up nodes against all of them, per node; its CPU over measured slices
 *    against the same slices with only the warm-up nodes, per heartbeat.
 * 2. Dispatch round trip: BENCH_DISPATCHES (200) sessions one after another on BENCH_DISPATCH_NODES (4)
 *    nodes that answer each AssignTask at once with the turn's first event (a SessionStarted), then, once
 *    it is acknowledged, with its TurnCompleted. Issue 5's round trip: from the node receiving AssignTask
 *    to the node receiving the Ack of the first event (persisted); also from the CreateSession call to
 *    AssignTask, to its return and to that Ack, and the TurnCompleted's own round trip.
 * 3. Session event throughput: one node streams a long turn (batches of 1–BENCH_EVENTS_MAX_BATCH events,
 *    sent as the node-agent sends them: whenever the stream takes one, no Ack awaited) through the brain
 *    to the session service, which
 *    persists every event, while a WatchSession client follows; events/s the watcher receives and the
 *    latency from the node's send to the watcher, over BENCH_EVENTS_SLICES × BENCH_EVENTS_SLICE_MS.
 *
 * CPU is accounted per slice as in the rpc bench (cpu-accounting.ts): a slice disturbed by load outside
 * the benchmark is measured again, up to a budget. BENCH_AGENTS_CPU_PROFILE=<prefix> writes a CPU profile
 * of this process for each measurement's measured part (<prefix>-idle.cpuprofile, -dispatch, -events).
 * BENCH_AGENTS_ASYNC_COMMIT=1 turns PostgreSQL's synchronous_commit off, to see what the disk's WAL
 * flushes cost the latencies. BENCH_AGENT_PARTS (idle,dispatch,events; all by default) runs only some of
 * the measurements, e.g. `events` to compare a change to the event path without pairing 2,000 nodes.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { inOrg, signUp, startTestPlatform, withDatabase } from '@foundation/testing';
import type { Caller, DispatchTiming, EventStreamResult, Window } from './agent-messages.js';
import { AgentNodesProcess } from './agent-nodes-process.js';
import { addSplit, cpuSince, cpuSnapshot, isDisturbed, waitForQuietMachine, type CpuSplit } from './cpu-accounting.js';
import { startCpuProfile } from './cpu-profile.js';
import { pairNodes } from './node-pairing.js';
import { summarizeLatencies, type LatencySummary } from './percentile.js';
import { memoryAfterGc, type MemorySample } from './server-memory.js';

/** The targets of issue 5. */
const TARGET_BYTES_PER_NODE = 50 * 1024;
const TARGET_DISPATCH_P50_MS = 5;
const TARGET_EVENTS_PER_S = 5_000;

/** Idle nodes connected before the baseline, so one-time costs (compiled code, pools, caches) are not counted per node. */
const WARMUP_NODES = 50;
const DISPATCH_WARMUP = 20;
const EVENTS_WARMUP_MS = 2_000;
/** Disturbed slices measured again in one run of this suite, at most. */
const REMEASURE_BUDGET = 8;

interface Settings {
  idleNodes: number;
  idleSliceMs: number;
  idleBaselineSlices: number;
  idleSlices: number;
  dispatches: number;
  dispatchNodes: number;
  eventsMaxBatch: number;
  /** Events per second the node's engine prints at most; 0: as fast as the stream takes them. */
  eventsRate: number;
  eventsSliceMs: number;
  eventsSlices: number;
  cpuProfile: string | undefined;
  asyncCommit: boolean;
  parts: Set<AgentBenchPart>;
}

type AgentBenchPart = 'idle' | 'dispatch' | 'events';
const AGENT_BENCH_PARTS: AgentBenchPart[] = ['idle', 'dispatch', 'events'];

function readSettings(env = process.env): Settings {
  const number = (name: string, fallback: number) => Number(env[name] ?? fallback);
  return {
    idleNodes: number('BENCH_IDLE_NODES', 2_000),
    idleSliceMs: number('BENCH_IDLE_SLICE_MS', 10_000),
    idleBaselineSlices: number('BENCH_IDLE_BASELINE_SLICES', 2),
    idleSlices: number('BENCH_IDLE_SLICES', 3),
    dispatches: number('BENCH_DISPATCHES', 200),
    dispatchNodes: number('BENCH_DISPATCH_NODES', 4),
    eventsMaxBatch: number('BENCH_EVENTS_MAX_BATCH', 50),
    eventsRate: number('BENCH_EVENTS_RATE', 0),
    eventsSliceMs: number('BENCH_EVENTS_SLICE_MS', 5_000),
    eventsSlices: number('BENCH_EVENTS_SLICES', 3),
    cpuProfile: env.BENCH_AGENTS_CPU_PROFILE,
    asyncCommit: env.BENCH_AGENTS_ASYNC_COMMIT === '1',
    parts: benchParts(env.BENCH_AGENT_PARTS),
  };
}

function benchParts(list: string | undefined): Set<AgentBenchPart> {
  if (list === undefined) return new Set(AGENT_BENCH_PARTS);
  const names = list.split(',').map((p) => p.trim());
  const unknown = names.filter((p) => !AGENT_BENCH_PARTS.includes(p as AgentBenchPart));
  if (unknown.length > 0) throw new Error(`BENCH_AGENT_PARTS names ${unknown.join(', ')}; it takes ${AGENT_BENCH_PARTS.join(', ')}`);
  return new Set(names as AgentBenchPart[]);
}

/** Measured slices: where the CPU went over the kept ones, and what the nodes did in them. */
interface Slices {
  split: CpuSplit;
  heartbeats: number;
  /** The kept slices, on the nodes' clock. */
  windows: Window[];
  redone: number;
}

interface IdleResult {
  nodes: number;
  warmupNodes: number;
  connectSeconds: number;
  heartbeatMs: number;
  memory: { warmup: MemorySample; connected: MemorySample; afterWindow: MemorySample };
  baseline: Slices;
  loaded: Slices;
  /** All connected, heartbeats paused: what the connections cost without them. */
  silent: Slices;
  nodesLost: number;
}

interface DispatchResult {
  nodes: number;
  /** Issue 5's definition: AssignTask received → Ack of the first event received. */
  roundTrip: LatencySummary;
  assigned: LatencySummary;
  created: LatencySummary;
  firstAcked: LatencySummary;
  completed: LatencySummary;
  count: number;
  split: CpuSplit;
}

interface EventsResult {
  stream: EventStreamResult;
  slices: Slices;
}

export async function benchAgentGateway(): Promise<string> {
  const settings = readSettings();
  const platform = await startTestPlatform({ discardLogs: true });
  try {
    // A diagnosis, never a deployment setting: how much of the latency is the disk's WAL flush at each commit.
    if (settings.asyncCommit) {
      await withDatabase(platform, 'superuser', async (sql) => {
        await sql.query('alter system set synchronous_commit = off');
        await sql.query('select pg_reload_conf()');
      });
    }
    const owner = await signUp(platform.grpc, 'Bench Owner');
    const createOrg = async (slug: string) => (await platform.grpc.org.createOrg({ name: slug, slug: `${slug}-${Date.now().toString(36)}` }, owner.as)).org!.id;
    // The idle fleet has an org of its own: StartTask offers a task to every connected node of the org.
    const idleOrg = await createOrg('bench-idle');
    const workOrg = await createOrg('bench-work');
    const idleNodes = settings.parts.has('idle') ? settings.idleNodes : 0;
    process.stderr.write(`bench: agents: pairing ${idleNodes + settings.dispatchNodes + 1} nodes …\n`);
    const idleCredentials = await pairNodes(platform, inOrg(owner, idleOrg), idleNodes, 'idle');
    const workCredentials = await pairNodes(platform, inOrg(owner, workOrg), settings.dispatchNodes + 1, 'work');
    const caller: Caller = { accessToken: owner.accessToken, orgId: workOrg };
    const nodes = new AgentNodesProcess(platform.baseUrl);
    try {
      const { parts } = settings;
      const idle = parts.has('idle') ? await measureIdleNodes(nodes, idleCredentials, settings) : undefined;
      const dispatch = parts.has('dispatch') ? await measureDispatch(nodes, workCredentials.slice(0, settings.dispatchNodes), caller, settings) : undefined;
      const events = parts.has('events') ? await measureEvents(nodes, workCredentials[settings.dispatchNodes]!, caller, settings) : undefined;
      return report(settings, idle, dispatch, events);
    } finally {
      nodes.close();
    }
  } finally {
    await platform.close();
  }
}

async function measureIdleNodes(nodes: AgentNodesProcess, credentials: string[], s: Settings): Promise<IdleResult> {
  const warmupNodes = Math.min(WARMUP_NODES, Math.floor(credentials.length / 10));
  await waitForQuietMachine();
  process.stderr.write(`bench: agents: ${warmupNodes} warm-up nodes, then the baseline …\n`);
  const warm = await nodes.ask({ kind: 'connect-idle', credentials: credentials.slice(0, warmupNodes) }, 'connected');
  // Every node has heartbeated once before memory is read: its connection is in its steady state.
  await sleep(warm.heartbeatMs);
  const warmup = await memoryAfterGc();
  const baseline = await measureSlices(nodes, s.idleBaselineSlices, s.idleSliceMs);
  process.stderr.write(`bench: agents: connecting ${credentials.length - warmupNodes} more nodes …\n`);
  const rest = await nodes.ask({ kind: 'connect-idle', credentials: credentials.slice(warmupNodes) }, 'connected');
  await sleep(rest.heartbeatMs);
  const connected = await memoryAfterGc();
  const loaded = await profiled(s, 'idle', () => measureSlices(nodes, s.idleSlices, s.idleSliceMs));
  // One slice, never redone: a second would leave the nodes silent past the brain's limit of three intervals.
  await nodes.ask({ kind: 'pause-heartbeats' }, 'heartbeats-paused');
  const silent = await measureSlices(nodes, 1, Math.min(s.idleSliceMs, warm.heartbeatMs), { redo: false });
  await nodes.ask({ kind: 'resume-heartbeats' }, 'heartbeats-resumed');
  const afterWindow = await memoryAfterGc();
  const { nodesLost } = await nodes.ask({ kind: 'mark' }, 'mark');
  await nodes.ask({ kind: 'drop-idle' }, 'dropped');
  // The brain records each of the 2,000 disconnections after the nodes are gone; the dispatches must not meet that work.
  await waitForQuietMachine();
  return {
    nodes: credentials.length,
    warmupNodes,
    connectSeconds: rest.connectSeconds,
    heartbeatMs: rest.heartbeatMs,
    memory: { warmup, connected, afterWindow },
    baseline,
    loaded,
    silent,
    nodesLost,
  };
}

async function measureDispatch(nodes: AgentNodesProcess, credentials: string[], caller: Caller, s: Settings): Promise<DispatchResult> {
  process.stderr.write(`bench: agents: ${s.dispatches} dispatches …\n`);
  const start = cpuSnapshot();
  const { dispatches } = await profiled(s, 'dispatch', () =>
    nodes.ask({ kind: 'dispatch', credentials, caller, warmup: DISPATCH_WARMUP, count: s.dispatches }, 'dispatched'),
  );
  const of = (pick: (d: DispatchTiming) => number) => summarizeLatencies(dispatches.map(pick));
  return {
    nodes: credentials.length,
    roundTrip: of((d) => d.roundTripMs),
    assigned: of((d) => d.assignedMs),
    created: of((d) => d.createdMs),
    firstAcked: of((d) => d.firstAckedMs),
    completed: of((d) => d.completedMs),
    count: dispatches.length,
    split: cpuSince(start, nodes.pid),
  };
}

async function measureEvents(nodes: AgentNodesProcess, credential: string, caller: Caller, s: Settings): Promise<EventsResult> {
  process.stderr.write(`bench: agents: streaming a turn's events for ${(s.eventsSlices * s.eventsSliceMs) / 1000} s …\n`);
  await nodes.ask(
    { kind: 'start-events', credential, caller, maxBatch: s.eventsMaxBatch, rate: s.eventsRate, warmupMs: EVENTS_WARMUP_MS },
    'events-started',
  );
  const slices = await profiled(s, 'events', () => measureSlices(nodes, s.eventsSlices, s.eventsSliceMs));
  const { result } = await nodes.ask({ kind: 'stop-events', windows: slices.windows }, 'events');
  return { stream: result, slices };
}

let remeasured = 0;

/**
 * `count` kept slices of `sliceMs`; a slice disturbed by load outside the benchmark is measured again while
 * the budget lasts (unless `redo` is false: then the report shows how disturbed it was).
 */
async function measureSlices(nodes: AgentNodesProcess, count: number, sliceMs: number, { redo = true } = {}): Promise<Slices> {
  let split: CpuSplit | undefined;
  let heartbeats = 0;
  const windows: Window[] = [];
  let redone = 0;
  while (windows.length < count) {
    const start = cpuSnapshot();
    const first = await nodes.ask({ kind: 'mark' }, 'mark');
    await sleep(sliceMs);
    const last = await nodes.ask({ kind: 'mark' }, 'mark');
    const slice = cpuSince(start, nodes.pid);
    if (redo && isDisturbed(slice) && remeasured < REMEASURE_BUDGET) {
      remeasured++;
      redone++;
      continue;
    }
    split = addSplit(split, slice);
    heartbeats += last.heartbeatsSent - first.heartbeatsSent;
    windows.push([first.at, last.at]);
  }
  return { split: split!, heartbeats, windows, redone };
}

/** Runs `measure` under a CPU profile of this process when BENCH_AGENTS_CPU_PROFILE asks for one. */
async function profiled<T>(s: Settings, name: string, measure: () => Promise<T>): Promise<T> {
  if (!s.cpuProfile) return measure();
  const profile = await startCpuProfile();
  const result = await measure();
  writeFileSync(`${s.cpuProfile}-${name}.cpuprofile`, JSON.stringify(await profile.stop()));
  return result;
}

function report(s: Settings, idle: IdleResult | undefined, dispatch: DispatchResult | undefined, events: EventsResult | undefined): string {
  return [
    '',
    'Agents: brain + session service, whole platform in the bench process; simulated nodes and the session client in a process of their own, over gRPC',
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; ` +
      `${remeasured} disturbed slice(s) measured again` +
      (s.asyncCommit ? '; PostgreSQL with synchronous_commit = off (BENCH_AGENTS_ASYNC_COMMIT, a diagnosis)' : ''),
    ...(idle ? ['', ...idleReport(idle)] : []),
    ...(dispatch ? ['', ...dispatchReport(dispatch)] : []),
    ...(events ? ['', ...eventsReport(s, events)] : []),
  ].join('\n');
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const mark = (ok: boolean) => (ok ? '✓' : '✗');
const cores = (split: CpuSplit, field: keyof CpuSplit) => split[field] / split.wallS;

function idleReport(idle: IdleResult): string[] {
  const mb = (bytes: number) => f(bytes / 2 ** 20, 1);
  const added = idle.nodes - idle.warmupNodes;
  const perNodeKb = (field: keyof MemorySample, sample: MemorySample) => (sample[field] - idle.memory.warmup[field]) / added / 1024;
  const rate = (slices: Slices) => slices.heartbeats / slices.split.wallS;
  const heartbeatsPerS = rate(idle.loaded) - rate(idle.silent);
  const extra = (from: Slices, to: Slices, field: keyof CpuSplit) => cores(to.split, field) - cores(from.split, field);
  const rssPerNodeKb = perNodeKb('rss', idle.memory.connected);
  const memoryRow = (label: string, m: MemorySample) => [label, mb(m.rss), mb(m.heapUsed), mb(m.external)];
  return [
    `1. Idle nodes: ${idle.nodes} nodes, each its own HTTP/2 connection (one connect-node transport per node), ` +
      `heartbeat every ${idle.heartbeatMs / 1000} s (the default), first heartbeats spread over the interval`,
    `   ${added} nodes after ${idle.warmupNodes} warm-up ones connected in ${f(idle.connectSeconds)} s (50 connecting at a time); ${idle.nodesLost} streams lost`,
    '',
    ...table(
      ['server memory after GC', 'rss MB', 'heap MB', 'external MB'],
      [
        memoryRow(`${idle.warmupNodes} nodes (baseline)`, idle.memory.warmup),
        memoryRow(`${idle.nodes} nodes`, idle.memory.connected),
        memoryRow(`${idle.nodes} nodes, after the CPU window`, idle.memory.afterWindow),
        ['per added node, KB', f(rssPerNodeKb), f(perNodeKb('heapUsed', idle.memory.connected)), f(perNodeKb('external', idle.memory.connected))],
        ['per added node after the window, KB', f(perNodeKb('rss', idle.memory.afterWindow)), f(perNodeKb('heapUsed', idle.memory.afterWindow)), f(perNodeKb('external', idle.memory.afterWindow))],
      ],
    ),
    `   target: < ${TARGET_BYTES_PER_NODE / 1024} KB per node (RSS): ${mark(rssPerNodeKb * 1024 < TARGET_BYTES_PER_NODE)}`,
    '',
    ...table(
      ['idle CPU', 'nodes', 'wall s', 'heartbeats/s', 'server cores', 'pg+redis cores', 'client cores', 'foreign cores', 'redone'],
      [
        cpuRow('baseline', idle.warmupNodes, idle.baseline),
        cpuRow('all connected', idle.nodes, idle.loaded),
        cpuRow('all, heartbeats paused', idle.nodes, idle.silent),
      ],
    ),
    `   the ${added} added nodes: ${f(extra(idle.baseline, idle.loaded, 'serverS') * 100, 2)} % of one core in the server, ` +
      `${f(extra(idle.baseline, idle.loaded, 'infraS') * 100, 2)} % in PostgreSQL + Redis; of which heartbeats ` +
      `(all connected − heartbeats paused) ${f((extra(idle.silent, idle.loaded, 'serverS') * 1e6) / heartbeatsPerS, 0)} µs server CPU each ` +
      `(+ ${f((extra(idle.silent, idle.loaded, 'infraS') * 1e6) / heartbeatsPerS, 0)} µs PostgreSQL + Redis), ` +
      `${f(extra(idle.silent, idle.loaded, 'serverS') * 100, 2)} % of one core at ${f(heartbeatsPerS, 0)}/s; ` +
      `the rest is being connected (the lease sweeper's dispatch passes, for the nodes that could take a pending task)`,
  ];
}

function dispatchReport(dispatch: DispatchResult): string[] {
  const row = (label: string, l: LatencySummary) => [label, f(l.p50, 2), f(l.p99, 2), f(l.max, 2)];
  return [
    `2. Dispatch round trip: ${dispatch.count} sessions one after another (after ${DISPATCH_WARMUP} warm-up) on ${dispatch.nodes} nodes that answer each ` +
      'AssignTask at once with the turn\'s first event (SessionStarted, seq 1), then after its Ack with the TurnCompleted (seq 2); ' +
      'all times on the nodes\' clock',
    '',
    ...table(
      ['timed', 'p50 ms', 'p99 ms', 'max ms'],
      [
        row('issue 5: node receives AssignTask → node receives the Ack of its first event', dispatch.roundTrip),
        row('CreateSession call → node receives AssignTask', dispatch.assigned),
        row('CreateSession call → CreateSession returns', dispatch.created),
        row('CreateSession call → node receives the Ack of its first event', dispatch.firstAcked),
        row('node sends the TurnCompleted → node receives its Ack (the task ends)', dispatch.completed),
      ],
    ),
    '   an Ack means the session service persisted the event (TaskEvents → brain lease check → RecordTaskEvents → Ack)',
    `   CPU over the run: server ${f(cores(dispatch.split, 'serverS'), 2)}, pg+redis ${f(cores(dispatch.split, 'infraS'), 2)}, client ${f(cores(dispatch.split, 'clientS'), 2)}, ` +
      `foreign ${f(cores(dispatch.split, 'foreignS'), 2)} cores (not redone)`,
    // CPU per dispatch holds up under foreign load better than the latencies do (the warm-up ones are in the window too).
    `   CPU per dispatch: server ${f((dispatch.split.serverS * 1e3) / (dispatch.count + DISPATCH_WARMUP), 2)} ms, ` +
      `pg+redis ${f((dispatch.split.infraS * 1e3) / (dispatch.count + DISPATCH_WARMUP), 2)} ms`,
    `   target: p50 < ${TARGET_DISPATCH_P50_MS} ms (issue 5: AssignTask → Ack of the first event): ${mark(dispatch.roundTrip.p50 < TARGET_DISPATCH_P50_MS)}`,
  ];
}

function eventsReport(s: Settings, events: EventsResult): string[] {
  const ev = events.stream;
  const eventsPerS = ev.events / ev.seconds;
  return [
    `3. Session event throughput: one node, batches of 1–${s.eventsMaxBatch} events (mean ${f(ev.meanBatch)}; ${f(ev.meanEventBytes, 0)} B per event), ` +
      `${s.eventsRate > 0 ? `printed at ${s.eventsRate} events/s at most and ` : ''}sent whenever the stream takes one (${f(ev.meanUnacknowledged)} unacknowledged on average, ${ev.maxUnacknowledged} at most), ` +
      `every event persisted, one WatchSession client; ${events.slices.windows.length} × ${s.eventsSliceMs / 1000} s kept`,
    '',
    ...table(
      ['events/s', 'events', 'p50 ms', 'p99 ms', 'max ms', 'server cores', 'pg+redis cores', 'client cores', 'foreign cores', 'redone'],
      [
        [
          f(eventsPerS, 0),
          String(ev.events),
          f(ev.p50Ms, 2),
          f(ev.p99Ms, 2),
          f(ev.maxMs, 2),
          f(cores(events.slices.split, 'serverS'), 2),
          f(cores(events.slices.split, 'infraS'), 2),
          f(cores(events.slices.split, 'clientS'), 2),
          f(cores(events.slices.split, 'foreignS'), 2),
          String(events.slices.redone),
        ],
      ],
    ),
    `   latency: from the node sending an event to the watcher receiving it (one clock); ` +
      `server CPU per event ${f((events.slices.split.serverS * 1e6) / ev.events, 0)} µs`,
    `   target: ≥ ${TARGET_EVENTS_PER_S} events/s: ${mark(eventsPerS >= TARGET_EVENTS_PER_S)}`,
  ];
}

function cpuRow(label: string, nodes: number, slices: Slices): string[] {
  const { split } = slices;
  const perS = (value: number) => (value / split.wallS).toFixed(3);
  return [label, String(nodes), split.wallS.toFixed(1), perS(slices.heartbeats), perS(split.serverS), perS(split.infraS), perS(split.clientS), perS(split.foreignS), String(slices.redone)];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '   ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), '   ' + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
