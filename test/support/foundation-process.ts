import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from here, as `npm start` runs it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_ENTRY = 'packages/cli/bin/foundation.js';
const OUTPUT_KEPT_CHARS = 20_000;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A `node packages/cli/bin/foundation.js …` child process with its output kept for failure messages. It is
 * SIGKILLed when the test process exits, so a failed test or mocha's `--exit` never leaves one behind.
 */
export class FoundationProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: REPO_ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout = keepTail(this.stdout + chunk.toString())));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr = keepTail(this.stderr + chunk.toString())));
    const killAtExit = () => this.child.kill('SIGKILL');
    process.once('exit', killAtExit);
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => {
        process.off('exit', killAtExit);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Standard output (the JSON log lines) so far. */
  get out(): string {
    return this.stdout;
  }

  /** Standard error (the banner, fatal messages) so far. */
  get err(): string {
    return this.stderr;
  }

  /** Both streams, labelled, for a failure message. */
  describe(): string {
    return `--- stderr ---\n${this.stderr}\n--- stdout ---\n${this.stdout}`;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the exit, or rejects when the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ProcessExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the process did not exit within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls GET /readyz until it answers 200; fails early with the output when the process exits. */
  async waitUntilReady(baseUrl: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the process exited before it was ready\n${this.describe()}`);
      try {
        const res = await fetch(new URL('/readyz', baseUrl), { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${baseUrl}/readyz did not answer 200 within ${timeoutMs} ms\n${this.describe()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Safe to call when it already exited. */
  async stop(graceMs = 15_000): Promise<ProcessExit> {
    if (this.running) this.child.kill('SIGTERM');
    try {
      return await this.waitForExit(graceMs);
    } catch {
      this.child.kill('SIGKILL');
      return this.exited;
    }
  }
}

/** Runs `foundation <args>` to completion (SIGKILLed after `timeoutMs`) and returns its exit and output. */
export async function runFoundation(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000) {
  const child = new FoundationProcess(args, env);
  try {
    const exit = await child.waitForExit(timeoutMs);
    return { ...exit, stdout: child.out, stderr: child.err };
  } finally {
    await child.stop(0);
  }
}

/** This process's environment without the Foundation settings a developer may have exported, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FOUNDATION_') && name !== 'DATABASE_URL'));
  return { ...inherited, ...env };
}

function keepTail(text: string): string {
  return text.length > OUTPUT_KEPT_CHARS ? text.slice(-OUTPUT_KEPT_CHARS) : text;
}
