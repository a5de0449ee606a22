import { durationMs } from '@bufbuild/protobuf/wkt';
import { promptViolations, workspaceViolations } from '@foundation/agent-engines';
import type { StartTaskRequest } from '@foundation/contracts';
import { uuidViolations, isUuid, type FieldViolation } from '@foundation/kit';

const MAX_TIMEOUT_MS = 24 * 3_600_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_WALL_CLOCK_TIMEOUT_MS = 2 * 3_600_000;

/** The request's fields other than the engine (whose refusal has its own reason, UNSUPPORTED_ENGINE). */
export function startTaskViolations(request: StartTaskRequest): FieldViolation[] {
  const violations = [...uuidViolations('org_id', request.orgId), ...uuidViolations('task_id', request.taskId)];
  if (request.executorId !== '' && !isUuid(request.executorId)) violations.push({ field: 'executor_id', description: 'must be a UUID or empty' });
  violations.push(...workspaceViolations('workspace', request.workspace), ...promptViolations('prompt', request.prompt));
  if (request.resumeEngineSessionId.length > 200) violations.push({ field: 'resume_engine_session_id', description: 'must be at most 200 characters' });
  for (const [field, value] of [
    ['idle_timeout', request.idleTimeout],
    ['wall_clock_timeout', request.wallClockTimeout],
  ] as const) {
    if (value && (durationMs(value) <= 0 || durationMs(value) > MAX_TIMEOUT_MS)) violations.push({ field, description: 'must be above 0 and at most 24 hours' });
  }
  return violations;
}
