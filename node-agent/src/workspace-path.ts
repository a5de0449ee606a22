import { lstat, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep, win32 } from 'node:path';

/** The task's workspace cannot be used; the reason goes back to the platform in TaskRejected. */
export class WorkspaceRefusedError extends Error {
  override readonly name = 'WorkspaceRefusedError';
}

/**
 * The task's working directory `<root>/<workspace>`, created when missing, after making sure it stays
 * inside the root: an absolute path, a `..` segment, or a symbolic link that leads out of the root is
 * refused. Each existing segment is resolved before the next one is created, so a symlink in the middle
 * never makes this create a directory outside the root. An empty workspace gets a directory of its own,
 * `<root>/tasks/<taskId>`, so one-off tasks never share one.
 */
export async function resolveTaskWorkspace(root: string, workspace: string, taskId: string): Promise<string> {
  const segments = workspaceSegments(workspace, taskId);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const realRoot = await realpath(root);
  let current = realRoot;
  for (const segment of segments) {
    const next = join(current, segment);
    if (!(await exists(next))) await mkdir(next, { mode: 0o700 }).catch(ignoreExisting);
    const resolved = await realpath(next).catch(() => {
      throw new WorkspaceRefusedError(`workspace "${workspace}" goes through a symbolic link to a missing path`);
    });
    if (!isInside(realRoot, resolved)) {
      throw new WorkspaceRefusedError(`workspace "${workspace}" leads out of the workspace root through a symbolic link`);
    }
    if (!(await lstat(resolved)).isDirectory()) {
      throw new WorkspaceRefusedError(`workspace "${workspace}" is not a directory`);
    }
    current = resolved;
  }
  return current;
}

function workspaceSegments(workspace: string, taskId: string): string[] {
  if (workspace === '') return ['tasks', taskId];
  if (workspace.includes('\0')) throw new WorkspaceRefusedError('workspace contains a NUL character');
  if (isAbsolute(workspace) || win32.isAbsolute(workspace)) {
    throw new WorkspaceRefusedError(`workspace "${workspace}" is absolute: it must be relative to the workspace root`);
  }
  const segments = workspace.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw new WorkspaceRefusedError(`workspace "${workspace}" contains "..": it must stay inside the workspace root`);
  return segments.length === 0 ? ['tasks', taskId] : segments;
}

function isInside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === '' || (!fromRoot.startsWith(`..${sep}`) && fromRoot !== '..' && !isAbsolute(fromRoot));
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function ignoreExisting(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EEXIST') throw error;
}
