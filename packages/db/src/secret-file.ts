import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * Returns the secret stored in `path`, creating it (random, mode 0600) on first use.
 *
 * For passwords of locally started servers and roles (the embedded superuser's, for one): generated
 * once, they must survive a restart, or persistent data could no longer be opened. The `wx` flag makes
 * creation exclusive, so two processes racing on a fresh directory read the same secret.
 */
export async function readOrCreateSecretFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const secret = randomBytes(24).toString('base64url');
  try {
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if (isAlreadyThere(error)) return (await readFile(path, 'utf8')).trim();
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function isAlreadyThere(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}
