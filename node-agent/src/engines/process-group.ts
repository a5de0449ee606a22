import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 20;
/** How long killed processes get to disappear after SIGKILL before we stop waiting for them. */
const AFTER_KILL_WAIT_MS = 5000;

/**
 * Sends `signal` to every process of the group. A group already gone is not an error, nor one whose members
 * we may not signal (an engine that ran a setuid program): waiting for the group then ends on its deadline.
 */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw error;
  }
}

/**
 * Whether a process of the group still runs. A killed process whose parent has died stays a zombie until
 * init reaps it, and some inits (containers, microVMs) never do; a zombie runs nothing, so on Linux the
 * group counts as gone once only zombies are left in it.
 */
async function isGroupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return !isNoSuchProcess(error);
  }
  return hasRunningMember(pgid);
}

/**
 * Stops the whole group: SIGTERM, then SIGKILL after `graceMs`, and resolves once nothing of it runs. A
 * group that is already gone resolves at once.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!(await isGroupAlive(pgid))) return;
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGroupGone(pgid, AFTER_KILL_WAIT_MS);
}

/** Whether a process runs, zombies counting as gone (see `isGroupAlive`). */
export async function isProcessRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return !isNoSuchProcess(error);
  }
  const stat = await readProcStat(pid);
  return stat === undefined ? process.platform !== 'linux' : stat.state !== 'Z';
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isGroupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

async function hasRunningMember(pgid: number): Promise<boolean> {
  // Without /proc (macOS) a live group cannot be told from a group of zombies; there init does reap them.
  if (process.platform !== 'linux') return true;
  const entries = await readdir('/proc').catch(() => undefined);
  if (entries === undefined) return true;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

interface ProcStat {
  state: string;
  pgrp: number;
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

function isNoSuchProcess(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ESRCH';
}
