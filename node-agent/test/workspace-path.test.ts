import { mkdir, mkdtemp, realpath, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { resolveTaskWorkspace, WorkspaceRefusedError } from '../src/workspace-path.js';

describe('resolveTaskWorkspace()', () => {
  let dir: string;
  let root: string;

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'workspace-path-')));
    root = join(dir, 'root');
    await mkdir(root);
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function refusal(workspace: string): Promise<string> {
    try {
      await resolveTaskWorkspace(root, workspace, 'task-1');
    } catch (error) {
      expect(error).to.be.instanceOf(WorkspaceRefusedError);
      return (error as Error).message;
    }
    throw new Error(`workspace "${workspace}" was accepted`);
  }

  it('creates a missing nested workspace inside the root', async () => {
    const path = await resolveTaskWorkspace(root, 'repos/my-repo', 'task-1');
    expect(path).to.equal(join(root, 'repos', 'my-repo'));
    expect((await stat(path)).isDirectory()).to.equal(true);
  });

  it('reuses an existing workspace (a follow-up turn)', async () => {
    const first = await resolveTaskWorkspace(root, 'my-repo', 'task-1');
    expect(await resolveTaskWorkspace(root, './my-repo/', 'task-2')).to.equal(first);
  });

  it('gives a task without a workspace a directory of its own', async () => {
    expect(await resolveTaskWorkspace(root, '', 'task-7')).to.equal(join(root, 'tasks', 'task-7'));
  });

  it('refuses ".." segments', async () => {
    expect(await refusal('../outside')).to.contain('".."');
    expect(await refusal('a/../../outside')).to.contain('".."');
    expect(await refusal('a\\..\\..\\outside')).to.contain('".."');
  });

  it('refuses absolute paths', async () => {
    expect(await refusal('/etc')).to.contain('absolute');
    expect(await refusal('C:\\Windows')).to.contain('absolute');
  });

  it('refuses a symbolic link that leads out of the root, without creating anything outside', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await symlink(outside, join(root, 'escape'));
    expect(await refusal('escape')).to.contain('symbolic link');
    expect(await refusal('escape/sub')).to.contain('symbolic link');
    await stat(join(outside, 'sub')).then(
      () => expect.fail('a directory was created outside the root'),
      () => undefined,
    );
  });

  it('accepts a symbolic link that stays inside the root', async () => {
    await mkdir(join(root, 'real'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    expect(await resolveTaskWorkspace(root, 'alias', 'task-1')).to.equal(join(root, 'real'));
  });

  it('refuses a dangling symbolic link', async () => {
    await symlink(join(dir, 'missing'), join(root, 'dangling'));
    expect(await refusal('dangling')).to.contain('missing path');
  });
});
