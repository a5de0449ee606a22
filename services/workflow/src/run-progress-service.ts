import { create } from '@bufbuild/protobuf';
import { timestampFromDate, timestampDate } from '@bufbuild/protobuf/wkt';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  ClaimOutcome,
  ClaimRunResponseSchema,
  type ClaimRunRequest,
  type NodeCheckpoint,
  type ProgressEvent,
  type ReportProgressRequest,
  type RunFinish,
  type RunProgressService,
} from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { assertValid, nameViolations, requireServiceCaller, uuidViolations, type FieldViolation } from '@foundation/kit';
import type { JsonValue } from '@foundation/workflow-dsl';
import type { NewRunEvent } from './run-event-log.js';
import type { NodeCheckpointRecord, RunLeases } from './run-leases.js';
import type { RunOutcome } from './run-record.js';

const WORKER_EVENT_TYPES = new Set(['node.started', 'node.log', 'node.agent_event', 'node.retrying', 'node.succeeded', 'node.failed']);
const FINISH_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);
const CHECKPOINT_STATUSES = new Set(['succeeded', 'skipped']);
const KEY_MAX = 200;

/**
 * The RunProgressService handlers (internal, execution only). Requests come from our own workers, yet
 * they are checked like any input: a malformed report is INVALID_ARGUMENT and writes nothing.
 */
export class RunProgressServiceImpl implements ServiceImpl<typeof RunProgressService> {
  constructor(
    private readonly leases: RunLeases,
    private readonly feed: EventFeed,
  ) {}

  async claimRun(req: ClaimRunRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    assertValid([...uuidViolations('run_id', req.runId), ...uuidViolations('org_id', req.orgId), ...nameViolations('worker_id', req.workerId, KEY_MAX)]);
    const claim = await this.leases.claim(req.orgId, req.runId, req.workerId);
    switch (claim.outcome) {
      case 'finished':
        if (claim.lastSeq !== undefined) this.feed.notify(req.runId, claim.lastSeq);
        return create(ClaimRunResponseSchema, { outcome: ClaimOutcome.FINISHED });
      case 'lease_held':
      case 'org_at_capacity':
        return create(ClaimRunResponseSchema, {
          outcome: claim.outcome === 'lease_held' ? ClaimOutcome.LEASE_HELD : ClaimOutcome.ORG_AT_CAPACITY,
          retryAfterMs: Math.ceil(claim.retryAfterMs),
        });
      case 'claimed': {
        this.feed.notify(req.runId, claim.lastSeq);
        const { run } = claim;
        return create(ClaimRunResponseSchema, {
          outcome: ClaimOutcome.CLAIMED,
          leaseToken: claim.leaseToken,
          leaseExpireTime: timestampFromDate(claim.leaseExpiresAt),
          attempt: run.attempt,
          orgId: run.orgId,
          workflowId: run.workflowId,
          workflowVersion: run.workflowVersion,
          specJson: JSON.stringify(claim.spec),
          inputsJson: JSON.stringify(run.inputs),
          triggerOutputJson: JSON.stringify(run.triggerOutput),
          triggerNodeId: run.triggerNodeId,
          checkpoints: claim.checkpoints.map((c) => ({ nodeId: c.nodeId, status: c.status, outputJson: JSON.stringify(c.output), attempt: c.attempt })),
          deadline: run.deadline ? timestampFromDate(run.deadline) : undefined,
          nodeAttempts: claim.nodeAttempts,
        });
      }
    }
  }

  async reportProgress(req: ReportProgressRequest, ctx: HandlerContext) {
    requireServiceCaller(ctx);
    const violations: FieldViolation[] = [...uuidViolations('run_id', req.runId), ...uuidViolations('org_id', req.orgId), ...uuidViolations('lease_token', req.leaseToken)];
    const events = req.events.map((e, i) => parseEvent(e, `events[${i}]`, violations));
    const checkpoints = req.checkpoints.map((c, i) => parseCheckpoint(c, `checkpoints[${i}]`, violations));
    const finish = req.finish && parseFinish(req.finish, violations);
    assertValid(violations);
    const result = await this.leases.report(req.orgId, req.runId, req.leaseToken.toLowerCase(), { events, checkpoints, finish });
    this.feed.notify(req.runId, result.lastSeq);
    return { cancelRequested: result.cancelRequested, leaseExpireTime: timestampFromDate(result.leaseExpiresAt) };
  }
}

function parseEvent(e: ProgressEvent, at: string, violations: FieldViolation[]): NewRunEvent {
  if (e.key === '' || [...e.key].length > KEY_MAX) violations.push({ field: `${at}.key`, description: `must be 1 to ${KEY_MAX} characters` });
  if (!WORKER_EVENT_TYPES.has(e.type)) violations.push({ field: `${at}.type`, description: `must be one of ${[...WORKER_EVENT_TYPES].join(', ')}` });
  if (e.nodeId === '') violations.push({ field: `${at}.node_id`, description: 'is required' });
  const payload = parseJson(e.payloadJson || '{}', `${at}.payload_json`, violations);
  const isObject = payload !== null && typeof payload === 'object' && !Array.isArray(payload);
  if (!isObject) violations.push({ field: `${at}.payload_json`, description: 'must be a JSON object' });
  return {
    key: e.key,
    type: e.type,
    nodeId: e.nodeId,
    attempt: e.attempt,
    payload: isObject ? (payload as { [key: string]: JsonValue }) : {},
    time: e.time ? timestampDate(e.time) : undefined,
  };
}

function parseCheckpoint(c: NodeCheckpoint, at: string, violations: FieldViolation[]): NodeCheckpointRecord {
  if (c.nodeId === '') violations.push({ field: `${at}.node_id`, description: 'is required' });
  if (!CHECKPOINT_STATUSES.has(c.status)) violations.push({ field: `${at}.status`, description: 'must be succeeded or skipped' });
  return { nodeId: c.nodeId, status: c.status as NodeCheckpointRecord['status'], output: parseJson(c.outputJson || 'null', `${at}.output_json`, violations), attempt: c.attempt };
}

function parseFinish(f: RunFinish, violations: FieldViolation[]): RunOutcome {
  if (!FINISH_STATUSES.has(f.status)) violations.push({ field: 'finish.status', description: 'must be succeeded, failed or cancelled' });
  if (f.status !== 'succeeded' && f.reason === '') violations.push({ field: 'finish.reason', description: 'is required when the run did not succeed' });
  return {
    status: f.status as RunOutcome['status'],
    error: f.status === 'succeeded' ? undefined : { reason: f.reason, message: f.message, nodeId: f.nodeId },
  };
}

function parseJson(text: string, field: string, violations: FieldViolation[]): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    violations.push({ field, description: 'is not valid JSON' });
    return null;
  }
}
