/** A refused field, in the shape the platform's INVALID_ARGUMENT details carry. */
export interface TaskFieldViolation {
  field: string;
  description: string;
}

const WORKSPACE_MAX = 200;
const PROMPT_MAX_BYTES = 256 * 1024;

/**
 * A working directory relative to the node's workspace root: 1 to 200 characters, not absolute (POSIX,
 * Windows drive or UNC), no ".." segment, no control characters. The sessions refuse it at the door and
 * the brain again for every task; the node checks once more where it resolves it against its real root.
 */
export function workspaceViolations(field: string, workspace: string): TaskFieldViolation[] {
  if (workspace === '') return [{ field, description: 'is required (a directory relative to the node\'s workspace root, for example "my-repo")' }];
  if ([...workspace].length > WORKSPACE_MAX) return [{ field, description: `must be at most ${WORKSPACE_MAX} characters` }];
  if (/^[/\\]|^[A-Za-z]:/.test(workspace)) return [{ field, description: 'must be relative to the node\'s workspace root, not absolute' }];
  if (workspace.split(/[/\\]/).includes('..')) return [{ field, description: 'must not contain ".." (it would leave the node\'s workspace root)' }];
  if (/[\u0000-\u001f\u007f]/.test(workspace)) return [{ field, description: 'must not contain control characters' }];
  return [];
}

/** A prompt or follow-up message: 1 character to 256 KiB. */
export function promptViolations(field: string, text: string): TaskFieldViolation[] {
  if (text.trim() === '') return [{ field, description: 'is required' }];
  if (Buffer.byteLength(text) > PROMPT_MAX_BYTES) return [{ field, description: `must be at most ${PROMPT_MAX_BYTES / 1024} KiB` }];
  return [];
}
