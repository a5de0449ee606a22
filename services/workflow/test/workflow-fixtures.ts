import type { JsonObject } from '@bufbuild/protobuf';
import type { CallOptions } from '@connectrpc/connect';
import { RunStatus, type Run, type RunEvent, type Workflow } from '@foundation/contracts';
import type { PlatformClients } from '@foundation/testing';
import type { WorkflowSpecJson } from '@foundation/workflow-dsl';
import { fromJson } from '@bufbuild/protobuf';
import { WorkflowSpecSchema, type WorkflowSpec } from '@foundation/contracts';

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
