import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a running daemon tells `foundation-agent status` through the data dir. */
export interface DaemonStatus {
  pid: number;
  /** "starting", "connecting", "online", "retrying", "stopping", "stopped: …". */
  state: string;
  server: string;
  executorId: string;
  runningTasks: number;
  capacity: number;
  startTime: string;
  updateTime: string;
}

const DAEMON_STATUS_FILE_NAME = 'daemon-status.json';

/**
 * The daemon's pid and state in `<data dir>/daemon-status.json`, rewritten on every change and removed on
 * a clean stop. It doubles as the lock that keeps two daemons off one data dir (they would share the
 * outbox): a file whose pid is alive means one runs.
 */
export class DaemonStatusFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, DAEMON_STATUS_FILE_NAME);
  }

  /** The status of a daemon whose process is alive, or undefined (none, or one that died without cleaning up). */
  readLive(): DaemonStatus | undefined {
    let status: DaemonStatus;
    try {
      status = JSON.parse(readFileSync(this.path, 'utf8')) as DaemonStatus;
    } catch {
      return undefined;
    }
    return isAlive(status.pid) ? status : undefined;
  }

  write(status: DaemonStatus): void {
    writeFileSync(`${this.path}.tmp`, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${this.path}.tmp`, this.path);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
