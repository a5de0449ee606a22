import type { JsonObject } from '@bufbuild/protobuf';
import { createClient, type CallOptions, type ConnectError } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import type { RunQueue } from '@foundation/run-queue';
import { RunProgressService, RunStatus, type Run, type RunEvent, type Workflow } from '@foundation/contracts';
import { inOrg, orgWithRoles, startEffectServer, startTestPlatform, type EffectServer, type OrgWithRoles, type PlatformClients, type TestPlatform } from '@foundation/testing';
import type { NodeJson, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { fromJson } from '@bufbuild/protobuf';
import { BadRequestSchema, WorkflowSpecSchema, type WorkflowSpec } from '@foundation/contracts';
import type { NewRun } from '../src/run-store.js';
import type { WorkflowStore } from '../src/workflow-store.js';

let counter = 0;

/** A spec in its JSON form, as an author writes it, turned into the request message. */
export function spec(json: WorkflowSpecJson): WorkflowSpec {
  return fromJson(WorkflowSpecSchema, json as JsonObject);
}

/** manual trigger → transform → transform: the benchmark's workflow, and the simplest complete run. */
export const TWO_TRANSFORMS: WorkflowSpecJson = {
  inputs: [{ name: 'n', type: 'number', required: true }],
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    { id: 'double', type: 'transform', config: { expression: 'inputs.n * 2' } },
    { id: 'describe', type: 'transform', config: { expression: '{ "value": nodes.double.output, "label": "n=" & $string(inputs.n) }' } },
  ],
  edges: [
    { from: 'start', to: 'double' },
    { from: 'double', to: 'describe' },
  ],
};

/** Creates and publishes a workflow; returns it as published. */
/** A TWO_TRANSFORMS workflow created and published through the store, as version 1; its id. */
export async function publishedTwoTransforms(workflows: WorkflowStore, orgId: string, user: string): Promise<string> {
  const workflow = await workflows.create(orgId, user, { name: 'two transforms', description: '', spec: TWO_TRANSFORMS });
  await workflows.publish(orgId, user, workflow.id, 0, { problems: () => [], hasWebhookTrigger: () => false });
  return workflow.id;
}

/** A manual run of version 1 of a TWO_TRANSFORMS workflow, as RunStore.insert takes it. */
export function manualRun(workflowId: string, startedBy: string, extra: Partial<NewRun> = {}): NewRun {
  return {
    workflowId,
    workflowVersion: 1,
    inputs: { n: 1 },
    trigger: 'manual',
    triggerNodeId: 'start',
    triggerOutput: { n: 1 },
    idempotencyKey: '',
    startedBy,
    retryOf: '',
    timeBudgetMs: 60_000,
    ...extra,
  };
}

export async function publishedWorkflow(clients: PlatformClients, json: WorkflowSpecJson, options: CallOptions): Promise<Workflow> {
  const { workflow } = await clients.workflows.createWorkflow({ name: `workflow ${++counter}`, spec: spec(json) }, options);
  const published = await clients.workflows.publishWorkflow({ workflowId: workflow!.id }, options);
  return published.workflow!;
}

/** Every event of a run from `afterSeq` until its terminal event, through WatchRun. */
export async function watchToEnd(clients: PlatformClients, runId: string, options: CallOptions, afterSeq = 0n): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const { event } of clients.runs.watchRun({ runId, afterSeq }, { ...options, timeoutMs: options.timeoutMs ?? 30_000 })) {
    events.push(event!);
  }
  return events;
}

/** Polls GetRun until the run has ended. */
export async function runToEnd(clients: PlatformClients, runId: string, options: CallOptions, timeoutMs = 30_000): Promise<Run> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { run } = await clients.runs.getRun({ runId }, options);
    if (run!.status !== RunStatus.QUEUED && run!.status !== RunStatus.RUNNING) return run!;
    if (Date.now() > until) throw new Error(`run ${runId} still ${RunStatus[run!.status]} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `type` or `type:nodeId` of each event, for compact assertions on a run's course. */
export function eventTrail(events: RunEvent[]): string[] {
  return events.map((e) => (e.nodeId ? `${e.type}:${e.nodeId}` : e.type));
}

/** A `transform` node. */
export function transformNode(id: string, expression: string, extra: Partial<NodeJson> = {}): NodeJson {
  return { id, type: 'transform', config: { expression }, ...extra };
}

/** A `delay` node waiting `duration` (e.g. "600ms"). */
export function delayNode(id: string, duration: string, extra: Partial<NodeJson> = {}): NodeJson {
  return { id, type: 'delay', config: { duration }, ...extra };
}

/** A manual trigger `start` followed by `nodes` in a chain. */
export function chainSpec(nodes: NodeJson[], extra: Omit<WorkflowSpecJson, 'nodes' | 'edges'> = {}): WorkflowSpecJson {
  const ids = ['start', ...nodes.map((node) => node.id)];
  return {
    ...extra,
    nodes: [{ id: 'start', type: 'trigger.manual' }, ...nodes],
    edges: ids.slice(1).map((id, index) => ({ from: ids[index]!, to: id })),
  };
}

/** Every stored event of a run, through ListRunEvents. */
export async function listAllEvents(clients: PlatformClients, runId: string, options: CallOptions): Promise<RunEvent[]> {
  const { events } = await clients.runs.listRunEvents({ runId, pageSize: 1000 }, options);
  return events;
}

/** Watches a run until an event satisfies `until` and closes the stream; returns the events seen, that one last. */
export async function watchUntil(clients: PlatformClients, runId: string, options: CallOptions, until: (event: RunEvent) => boolean): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const stop = new AbortController();
  try {
    for await (const { event } of clients.runs.watchRun({ runId }, { ...options, signal: stop.signal, timeoutMs: options.timeoutMs ?? 30_000 })) {
      events.push(event!);
      if (until(event!)) return events;
    }
  } finally {
    stop.abort();
  }
  throw new Error(`run ${runId} ended without the awaited event: ${eventTrail(events).join(', ')}`);
}

/** Milliseconds from one event's time to another's. */
export function msBetween(from: RunEvent, to: RunEvent): number {
  return timestampMs(to.time!) - timestampMs(from.time!);
}

/** The one event of `type` (and node), or a failure naming what the run did instead. */
export function eventOf(events: RunEvent[], type: string, nodeId = '', attempt?: number): RunEvent {
  const found = events.filter((e) => e.type === type && e.nodeId === nodeId && (attempt === undefined || e.attempt === attempt));
  if (found.length !== 1) throw new Error(`expected one ${type}${nodeId && `:${nodeId}`}, found ${found.length} in ${eventTrail(events).join(', ')}`);
  return found[0]!;
}

/** `type:nodeId(attempt)` of each node event, for assertions on attempts. */
export function attemptTrail(events: RunEvent[]): string[] {
  return events.filter((e) => e.nodeId !== '').map((e) => `${e.type}:${e.nodeId}(${e.attempt})`);
}

/** Every field of an INVALID_FIELD error's BadRequest detail, in the order the service listed them. */
export function violatedFields(error: ConnectError): string[] {
  return error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((v) => v.field));
}

/** The output a node succeeded with in a run, from its `node.succeeded` event; undefined when it did not. */
export async function nodeOutput(clients: PlatformClients, runId: string, nodeId: string, options: CallOptions): Promise<unknown> {
  const events = await listAllEvents(clients, runId, options);
  return events.find((e) => e.type === 'node.succeeded' && e.nodeId === nodeId)?.payload?.['output'];
}

/** A platform for run tests: an org with its roles and a local API for connector nodes to call. */
export interface RunBench {
  platform: TestPlatform;
  tenant: OrgWithRoles;
  /** Loopback is allowed, so connector nodes may call it. */
  api: EffectServer;
  asMember(): CallOptions;
  asAdmin(): CallOptions;
  /** Publishes `json`, runs it with `inputs` as the member, and returns the run as it ended with every event. */
  runToEnd(json: WorkflowSpecJson, inputs?: JsonObject): Promise<{ run: Run; events: RunEvent[] }>;
  close(): Promise<void>;
}

export async function startRunBench(env: Record<string, string> = {}): Promise<RunBench> {
  const api = await startEffectServer();
  const platform = await startTestPlatform({ env: { FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true', ...env } });
  const tenant = await orgWithRoles(platform.grpc);
  const asMember = () => inOrg(tenant.member, tenant.org.id);
  const asAdmin = () => inOrg(tenant.admin, tenant.org.id);
  return {
    platform,
    tenant,
    api,
    asMember,
    asAdmin,
    runToEnd: async (json, inputs = {}) => {
      const workflow = await publishedWorkflow(platform.grpc, json, asAdmin());
      const { run } = await platform.grpc.runs.startRun({ workflowId: workflow.id, inputs }, asMember());
      const events = await watchToEnd(platform.grpc, run!.id, asMember());
      const { run: ended } = await platform.grpc.runs.getRun({ runId: run!.id }, asMember());
      return { run: ended!, events };
    },
    close: async () => {
      await platform.close();
      await api.close();
    },
  };
}

/** `trigger` (a webhook or schedule node) followed by `nodes` in a chain. */
export function chainFrom(trigger: NodeJson, nodes: NodeJson[]): WorkflowSpecJson {
  const ids = [trigger.id, ...nodes.map((node) => node.id)];
  return { nodes: [trigger, ...nodes], edges: ids.slice(1).map((id, index) => ({ from: ids[index]!, to: id })) };
}

/** RunProgressService as a Foundation service calls it: gRPC with a service token `caller` signed with the platform's key. */
export async function runProgressAs(platform: TestPlatform, caller = 'execution') {
  const token = await new ServiceTokenIssuer(platform.serviceKey, caller).tokenFor(RunProgressService.typeName);
  return {
    client: createClient(RunProgressService, createGrpcTransport({ baseUrl: platform.baseUrl })),
    as: { headers: { [SERVICE_TOKEN_HEADER]: token } },
  };
}

/**
 * Starts a run of `json` and takes its job off the queue, so that no platform worker claims it while a test
 * plays the worker. The platform's worker must be busy (FOUNDATION_WORKER_CONCURRENCY 1 and a long run
 * under way), or it could take the job before it is removed. The reconciler queues such a run again once
 * it is older than the reconcile interval.
 */
export async function orphanedRun(bench: RunBench, queue: RunQueue, json: WorkflowSpecJson): Promise<Run> {
  const workflow = await publishedWorkflow(bench.platform.grpc, json, bench.asAdmin());
  const { run } = await bench.platform.grpc.runs.startRun({ workflowId: workflow.id }, bench.asMember());
  if ((await queue.jobState(run!.id)) !== 'waiting') throw new Error('the platform worker is not busy: the run was taken');
  await queue.removeJob(run!.id);
  return run!;
}

/** Starts a run that waits 30 s and resolves once its delay is under way (it keeps one worker slot busy). */
export async function startLongRun(bench: RunBench): Promise<Run> {
  const workflow = await publishedWorkflow(bench.platform.grpc, chainSpec([delayNode('wait', '30s')]), bench.asAdmin());
  const { run } = await bench.platform.grpc.runs.startRun({ workflowId: workflow.id }, bench.asMember());
  await watchUntil(bench.platform.grpc, run!.id, bench.asMember(), (e) => e.type === 'node.started');
  return run!;
}

/** start → slow (a 30 s delay) and start → boom (a transform that fails at once): the run fails fast. */
export const FAIL_FAST: WorkflowSpecJson = {
  nodes: [{ id: 'start', type: 'trigger.manual' }, delayNode('slow', '30s'), transformNode('boom', '$error("boom")')],
  edges: [
    { from: 'start', to: 'slow' },
    { from: 'start', to: 'boom' },
  ],
};
