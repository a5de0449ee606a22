import { create, fromJson, toJson, type JsonObject, type JsonValue as ProtoJsonValue } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  RunEventSchema,
  RunSchema,
  RunStatus as RunStatusProto,
  WorkflowSchema,
  WorkflowSpecSchema,
  WorkflowState as WorkflowStateProto,
  WorkflowVersionSchema,
  type Run,
  type RunEvent,
  type Workflow,
  type WorkflowSpec,
  type WorkflowVersion,
} from '@foundation/contracts';
import type { WorkflowSpecJson } from '@foundation/workflow-dsl';
import type { RunEventRecord } from './run-event-log.js';
import type { RunRecord, RunStatus } from './run-record.js';
import type { WorkflowRecord, WorkflowState, WorkflowVersionRecord } from './workflow-store.js';

/** Where webhook URLs live; the token completes the path. */
export const WEBHOOK_PATH_PREFIX = '/v1/webhooks/';

const WORKFLOW_STATES: Record<WorkflowState, WorkflowStateProto> = {
  draft: WorkflowStateProto.DRAFT,
  published: WorkflowStateProto.PUBLISHED,
  archived: WorkflowStateProto.ARCHIVED,
};

const RUN_STATUSES: Record<RunStatus, RunStatusProto> = {
  queued: RunStatusProto.QUEUED,
  running: RunStatusProto.RUNNING,
  succeeded: RunStatusProto.SUCCEEDED,
  failed: RunStatusProto.FAILED,
  cancelled: RunStatusProto.CANCELLED,
};

/** A status filter from a request; undefined for UNSPECIFIED (no filter). */
export function runStatusFromProto(status: RunStatusProto): RunStatus | undefined {
  return (Object.keys(RUN_STATUSES) as RunStatus[]).find((s) => RUN_STATUSES[s] === status);
}

/** The spec as the DSL reads it: its proto JSON form, which is also how it is stored. */
export function specToJson(spec: WorkflowSpec | undefined): unknown {
  return spec === undefined ? undefined : toJson(WorkflowSpecSchema, spec);
}

function specFromJson(spec: WorkflowSpecJson): WorkflowSpec {
  return fromJson(WorkflowSpecSchema, spec as ProtoJsonValue);
}

export function workflowMessage(w: WorkflowRecord): Workflow {
  return create(WorkflowSchema, {
    id: w.id,
    name: w.name,
    description: w.description,
    state: WORKFLOW_STATES[w.state],
    spec: specFromJson(w.draftSpec),
    revision: w.revision,
    latestVersion: w.latestVersion,
    hasUnpublishedChanges: w.hasUnpublishedChanges,
    webhookPath: w.webhookToken ? WEBHOOK_PATH_PREFIX + w.webhookToken : '',
    createTime: timestampFromDate(w.createdAt),
    createdBy: w.createdBy,
    updateTime: timestampFromDate(w.updatedAt),
    updatedBy: w.updatedBy,
  });
}

export function versionMessage(v: WorkflowVersionRecord): WorkflowVersion {
  return create(WorkflowVersionSchema, {
    workflowId: v.workflowId,
    version: v.version,
    spec: specFromJson(v.spec),
    publishTime: timestampFromDate(v.publishedAt),
    publishedBy: v.publishedBy,
  });
}

export function runMessage(r: RunRecord): Run {
  return create(RunSchema, {
    id: r.id,
    workflowId: r.workflowId,
    workflowVersion: r.workflowVersion,
    status: RUN_STATUSES[r.status],
    inputs: r.inputs as JsonObject,
    trigger: r.trigger,
    triggerNodeId: r.triggerNodeId,
    idempotencyKey: r.idempotencyKey,
    createTime: timestampFromDate(r.createdAt),
    startTime: r.startedAt ? timestampFromDate(r.startedAt) : undefined,
    endTime: r.endedAt ? timestampFromDate(r.endedAt) : undefined,
    error: r.error,
    startedBy: r.startedBy,
    retryOf: r.retryOf,
    attempt: r.attempt,
  });
}

export function runEventMessage(e: RunEventRecord): RunEvent {
  return create(RunEventSchema, {
    runId: e.runId,
    seq: BigInt(e.seq),
    type: e.type,
    time: timestampFromDate(e.time),
    nodeId: e.nodeId,
    attempt: e.attempt,
    payload: e.payload as JsonObject,
  });
}
