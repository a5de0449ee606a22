import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { ClaimRunResponse } from '@foundation/contracts';
import type { JsonValue, WorkflowSpecJson } from '@foundation/workflow-dsl';

/** A run this worker holds the lease of, with what it needs to resume it. */
export interface ClaimedRun {
  runId: string;
  orgId: string;
  leaseToken: string;
  attempt: number;
  workflowId: string;
  workflowVersion: number;
  spec: WorkflowSpecJson;
  inputs: { [key: string]: JsonValue };
  triggerNodeId: string;
  triggerOutput: JsonValue;
  checkpoints: { nodeId: string; status: 'succeeded' | 'skipped'; output: JsonValue }[];
  nodeAttempts: Record<string, number>;
  deadline: Date;
}

/** Reads a CLAIMED answer; its JSON comes from the workflow service, which wrote it from validated data. */
export function claimedRun(runId: string, response: ClaimRunResponse): ClaimedRun {
  return {
    runId,
    orgId: response.orgId,
    leaseToken: response.leaseToken,
    attempt: response.attempt,
    workflowId: response.workflowId,
    workflowVersion: response.workflowVersion,
    spec: JSON.parse(response.specJson) as WorkflowSpecJson,
    inputs: JSON.parse(response.inputsJson) as { [key: string]: JsonValue },
    triggerNodeId: response.triggerNodeId,
    triggerOutput: JSON.parse(response.triggerOutputJson) as JsonValue,
    checkpoints: response.checkpoints.map((c) => ({
      nodeId: c.nodeId,
      status: c.status === 'skipped' ? 'skipped' : 'succeeded',
      output: JSON.parse(c.outputJson) as JsonValue,
    })),
    nodeAttempts: response.nodeAttempts,
    deadline: timestampDate(required(response.deadline, 'deadline')),
  };
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new Error(`the workflow service claimed a run without a ${field}`);
  return value;
}
