import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type ClusterFiles = { dataDir: string; passwordFile: string; persistent: boolean };

const SHUTDOWN_WAIT_MS = 5_000;
const POLL_MS = 20;

/**
 * Makes sure a non-persistent cluster's files are deleted even when the process ends without calling
 * `stop()` (mocha's `--exit`, `process.exit`, an uncaught error). The `exit` event allows only
 * synchronous work, so the postmaster is signalled and awaited synchronously: it removes
 * `postmaster.pid` as the last step of its shutdown, after which its directory can go.
 *
 * Returns a function that cancels the cleanup, for when `stop()` does it properly.
 */
export function removeClusterAtExit({ dataDir, passwordFile, persistent }: ClusterFiles): () => void {
  if (persistent) return () => {};
  const removeCluster = () => {
    stopPostmasterSync(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(passwordFile, { force: true });
  };
  process.once('exit', removeCluster);
  return () => process.off('exit', removeCluster);
}

function stopPostmasterSync(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // already gone
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; existsSync(pidFile) && waited < SHUTDOWN_WAIT_MS; waited += POLL_MS) {
    Atomics.wait(pause, 0, 0, POLL_MS);
  }
}
