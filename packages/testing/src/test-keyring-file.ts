import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKeyringFile } from '@foundation/secrets';

export interface TestKeyringFile {
  /** For FOUNDATION_MASTER_KEY_FILE. */
  path: string;
  remove(): Promise<void>;
}

/** A fresh master keyring file (one key, mode 0600) in a private temporary directory. */
export async function createTestKeyringFile(): Promise<TestKeyringFile> {
  const dir = await mkdtemp(join(tmpdir(), 'foundation-keys-'));
  const path = join(dir, 'master-keys.json');
  await ensureKeyringFile(path);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
