import { Code } from '@connectrpc/connect';
import { isEngineId, unsupportedEngineMessage } from '@foundation/agent-engines';
import { isUuid, rpcError, type FieldViolation } from '@foundation/kit';

const WORKSPACE_MAX = 200;
const PROMPT_MAX_BYTES = 256 * 1024;
const TITLE_MAX = 120;
const EVENTS_PAGE_MAX = 1000;

/** INVALID_ARGUMENT (UNSUPPORTED_ENGINE) for an engine that does not exist, naming those that do. */
export function assertSupportedEngine(engine: string): void {
  if (!isEngineId(engine)) throw rpcError(Code.InvalidArgument, 'UNSUPPORTED_ENGINE', unsupportedEngineMessage(engine), { field: 'engine' });
}

/**
 * A working directory relative to the node's workspace root: 1 to 200 characters, not absolute (POSIX,
 * Windows drive or UNC), no ".." segment, no control characters. The node checks again where it resolves it.
 */
export function workspaceViolations(field: string, workspace: string): FieldViolation[] {
  if (workspace === '') return [{ field, description: 'is required (a directory relative to the node\'s workspace root, for example "my-repo")' }];
  if ([...workspace].length > WORKSPACE_MAX) return [{ field, description: `must be at most ${WORKSPACE_MAX} characters` }];
  if (/^[/\\]|^[A-Za-z]:/.test(workspace)) return [{ field, description: 'must be relative to the node\'s workspace root, not absolute' }];
  if (workspace.split(/[/\\]/).includes('..')) return [{ field, description: 'must not contain ".." (it would leave the node\'s workspace root)' }];
  if (/[\u0000-\u001f\u007f]/.test(workspace)) return [{ field, description: 'must not contain control characters' }];
  return [];
}

/** A prompt or follow-up message: 1 character to 256 KiB. */
export function promptViolations(field: string, text: string): FieldViolation[] {
  if (text.trim() === '') return [{ field, description: 'is required' }];
  if (Buffer.byteLength(text) > PROMPT_MAX_BYTES) return [{ field, description: `must be at most ${PROMPT_MAX_BYTES / 1024} KiB` }];
  return [];
}

/** An optional id: empty, or a UUID. */
export function optionalUuidViolations(field: string, value: string): FieldViolation[] {
  return value === '' || isUuid(value) ? [] : [{ field, description: 'must be a UUID (or empty)' }];
}

export function afterSeqViolations(afterSeq: bigint): FieldViolation[] {
  return afterSeq < 0n ? [{ field: 'after_seq', description: 'must be 0 or more' }] : [];
}

export function eventsPageSizeViolations(pageSize: number): FieldViolation[] {
  return pageSize < 0 || pageSize > EVENTS_PAGE_MAX ? [{ field: 'page_size', description: `must be between 1 and ${EVENTS_PAGE_MAX} (0 for the default)` }] : [];
}

/** The first line of the first prompt, at most 120 characters: what lists show. */
export function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n', 1)[0]!.trim();
  const chars = [...line];
  return chars.length <= TITLE_MAX ? line : chars.slice(0, TITLE_MAX - 1).join('') + '…';
}
