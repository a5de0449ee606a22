import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/foundation-agent.js', import.meta.url));
/** The fake engine CLIs, driven by FAKE_ENGINE_SCENARIO and friends (see fixtures/fake-engines/common.mjs). */
const FAKE_ENGINES = fileURLToPath(new URL('../fixtures/bin/', import.meta.url));

export type FakeEngine = 'codex' | 'claude' | 'opencode';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A throwaway user of `foundation-agent`: its own config and data directories, so tests never touch the real
 * ones, and the real CLI run as a child process.
 */
export class AgentHome {
  private constructor(readonly dir: string) {}

  /** A home whose PATH offers only `engines` of the fake engine CLIs, so the others count as not installed. */
  static async create(engines: readonly FakeEngine[] = ['codex']): Promise<AgentHome> {
    const home = new AgentHome(await mkdtemp(join(tmpdir(), 'foundation-agent-test-')));
    await mkdir(home.engineDir);
    for (const engine of engines) await symlink(join(FAKE_ENGINES, engine), join(home.engineDir, engine));
    return home;
  }

  /** First on the daemon's PATH: links to the fake engines this home offers. */
  get engineDir(): string {
    return join(this.dir, 'engines');
  }

  get configDir(): string {
    return join(this.dir, 'config');
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get workspaceRoot(): string {
    return join(this.dir, 'workspaces');
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${this.engineDir}${delimiter}${process.env.PATH ?? ''}`,
      FOUNDATION_AGENT_CONFIG_DIR: this.configDir,
      FOUNDATION_AGENT_DATA_DIR: this.dataDir,
      FOUNDATION_AGENT_WORKSPACE_ROOT: this.workspaceRoot,
      FOUNDATION_AGENT_RECONNECT_MAX_DELAY_MS: '400',
      ...extra,
    };
  }

  run(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
    const child = spawn(process.execPath, [BIN, ...args], { env: this.env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  start(args: string[] = [], extraEnv: Record<string, string> = {}): DaemonProcess {
    return new DaemonProcess(spawn(process.execPath, [BIN, 'start', ...args], { env: this.env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `foundation-agent start` as a child process, its JSON log lines collected. */
export class DaemonProcess {
  readonly logs: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private buffered = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.logs.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  async waitForLog(message: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find((line) => line.msg === message);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no log line "${message}" within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends the signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
