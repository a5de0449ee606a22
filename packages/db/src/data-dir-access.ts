import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Fails early, with a fix, when the `postgres` OS user could not reach `dataDir`.
 *
 * As root, embedded PostgreSQL runs as that user, which needs to traverse every directory above its
 * data directory. Otherwise `initdb` fails with only "exited with code 1", since its error output is
 * not captured by the library. Directories are checked for the "others may traverse" bit, the only
 * one that grants access to a user that owns none of them.
 */
export async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const mode = await modeOf(dir);
    if (mode !== undefined && (mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the "postgres" OS user and cannot reach ${dataDir}: ${dir} is not traversable ` +
          `by other users (run \`chmod o+x ${dir}\` or choose another data directory)`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

async function modeOf(dir: string): Promise<number | undefined> {
  try {
    return (await stat(dir)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
