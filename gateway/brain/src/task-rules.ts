import { durationMs } from '@bufbuild/protobuf/wkt';
import type { StartTaskRequest } from '@foundation/contracts';
import { uuidViolations, isUuid, type FieldViolation } from '@foundation/kit';

const MAX_WORKSPACE_LENGTH = 200;
/** As sessions accept it (session.proto): 1 character to 256 KiB. */
const MAX_PROMPT_BYTES = 256 * 1024;
const MAX_TIMEOUT_MS = 24 * 3_600_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_WALL_CLOCK_TIMEOUT_MS = 2 * 3_600_000;

/** The request's fields other than the engine (whose refusal has its own reason, UNSUPPORTED_ENGINE). */
export function startTaskViolations(request: StartTaskRequest): FieldViolation[] {
  const violations = [...uuidViolations('org_id', request.orgId), ...uuidViolations('task_id', request.taskId)];
  if (request.executorId !== '' && !isUuid(request.executorId)) violations.push({ field: 'executor_id', description: 'must be a UUID or empty' });
  violations.push(...workspaceViolations(request.workspace));
  if (request.prompt.trim() === '') violations.push({ field: 'prompt', description: 'is required' });
  else if (Buffer.byteLength(request.prompt) > MAX_PROMPT_BYTES) violations.push({ field: 'prompt', description: 'must be at most 256 KiB' });
  if (request.resumeEngineSessionId.length > 200) violations.push({ field: 'resume_engine_session_id', description: 'must be at most 200 characters' });
  for (const [field, value] of [
    ['idle_timeout', request.idleTimeout],
    ['wall_clock_timeout', request.wallClockTimeout],
  ] as const) {
    if (value && (durationMs(value) <= 0 || durationMs(value) > MAX_TIMEOUT_MS)) violations.push({ field, description: 'must be above 0 and at most 24 hours' });
  }
  return violations;
}

/**
 * A task's directory relative to the node's workspace root: not absolute, no ".." segment, at most 200
 * characters. The node checks again against its real root; this refuses what can never be right.
 */
function workspaceViolations(workspace: string): FieldViolation[] {
  const field = 'workspace';
  if (workspace === '') return [{ field, description: 'is required: a directory relative to the node’s workspace root, for example "my-repo"' }];
  if (workspace.length > MAX_WORKSPACE_LENGTH) return [{ field, description: `must be at most ${MAX_WORKSPACE_LENGTH} characters` }];
  if (/^([/\\]|[A-Za-z]:)/.test(workspace)) return [{ field, description: 'must be relative to the node’s workspace root, not absolute' }];
  if (workspace.split(/[/\\]/).includes('..')) return [{ field, description: 'must not contain ".." (it would leave the workspace root)' }];
  if (/[\u0000-\u001f]/.test(workspace)) return [{ field, description: 'must not contain control characters' }];
  return [];
}
