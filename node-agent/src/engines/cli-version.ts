import { execFile } from 'node:child_process';
import { engineEnv } from './engine-env.js';

const VERSION_TIMEOUT_MS = 10_000;

/** The first line `<executable> --version` prints, or undefined when it is missing, fails or hangs. */
export function readCliVersion(executable: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(executable, ['--version'], { env: engineEnv(), timeout: VERSION_TIMEOUT_MS }, (error, stdout) => {
      const line = String(stdout)
        .split('\n')
        .map((text) => text.trim())
        .find((text) => text !== '');
      resolve(error === null ? line : undefined);
    });
  });
}
