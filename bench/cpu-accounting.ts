import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a measured slice: this process (the server), the load client, the
 * platform's other children (the embedded PostgreSQL and redis-server), and everything else on the machine
 * ("foreign": other people's test runs, editors, compilers). Read from /proc; on a system without it every
 * figure is 0 and nothing is ever judged disturbed.
 */
export interface CpuSplit {
  wallS: number;
  serverS: number;
  clientS: number;
  /** PostgreSQL and Redis: this process's descendants other than the client. */
  infraS: number;
  foreignS: number;
}

export interface CpuSnapshot {
  at: bigint;
  machineS: number;
  server: NodeJS.CpuUsage;
  /** CPU seconds of each descendant of this process, by pid. */
  descendants: Map<number, number>;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux that matters here

/** A slice during which processes outside the benchmark used more than this (in cores) is measured again. */
export const FOREIGN_LIMIT_CORES = 0.2;

export function isDisturbed(split: CpuSplit): boolean {
  return split.foreignS / split.wallS > FOREIGN_LIMIT_CORES;
}

export function cpuSnapshot(): CpuSnapshot {
  return { at: process.hrtime.bigint(), machineS: machineBusySeconds(), server: process.cpuUsage(), descendants: descendantCpu(process.pid) };
}

export function cpuSince(start: CpuSnapshot, clientPid: number | undefined): CpuSplit {
  const end = cpuSnapshot();
  const server = process.cpuUsage(start.server);
  let clientS = 0;
  let infraS = 0;
  for (const [pid, seconds] of end.descendants) {
    const used = seconds - (start.descendants.get(pid) ?? 0);
    if (pid === clientPid) clientS += used;
    else infraS += used;
  }
  const serverS = (server.user + server.system) / 1e6;
  const machineS = end.machineS - start.machineS;
  return {
    wallS: Number(end.at - start.at) / 1e9,
    serverS,
    clientS,
    infraS,
    foreignS: machineS > 0 ? Math.max(0, machineS - serverS - clientS - infraS) : 0,
  };
}

export function addSplit(into: CpuSplit | undefined, split: CpuSplit): CpuSplit {
  if (!into) return { ...split };
  for (const key of Object.keys(split) as (keyof CpuSplit)[]) into[key] += split[key];
  return into;
}

/**
 * Waits (up to a minute) for a second in which the machine is nearly idle, so the load does not start in
 * the middle of someone else's job; returns how busy the machine was in the last second before the load.
 */
export async function waitForQuietMachine(): Promise<number> {
  const giveUpAt = Date.now() + 60_000;
  for (let announced = false; ; ) {
    const start = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = machineBusySeconds() - start;
    if (busy < FOREIGN_LIMIT_CORES || Date.now() > giveUpAt) return busy;
    if (!announced) process.stderr.write(`bench: the machine is busy (${busy.toFixed(2)} cores); waiting up to a minute for it to quieten …\n`);
    announced = true;
  }
}

/** CPU seconds the whole machine spent not idle, from /proc/stat (0 where there is none). */
export function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** utime + stime of every descendant of `root`, in seconds. */
function descendantCpu(root: number): Map<number, number> {
  const stats = new Map<number, { ppid: number; seconds: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return new Map();
  }
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name is in parentheses and may contain anything; the fields after it are plain.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // After the name: state(3) ppid(4) … utime(14) stime(15), numbered as in proc(5).
      stats.set(Number(pid), { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const result = new Map<number, number>();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    result.set(pid, stats.get(pid)!.seconds);
    queue.push(...(children.get(pid) ?? []));
  }
  return result;
}
