import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `foundation-agent` executable of this checkout (run through tsx, no build needed). */
const FOUNDATION_AGENT_BIN = fileURLToPath(new URL('../../../node-agent/bin/foundation-agent.js', import.meta.url));

export interface AgentCliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AgentMachineOptions {
  /** Directories put first on PATH, for example the fake engine CLIs of a test. */
  path?: string[];
  /** Extra environment of every command, the daemon's engines included (they inherit it). */
  env?: Record<string, string>;
}

/**
 * A throwaway machine running `foundation-agent`: its own config, data and workspace directories (never
 * the real ones), its own PATH and environment, and the real CLI as a child process.
 */
export class AgentMachine {
  private constructor(
    readonly dir: string,
    private readonly options: AgentMachineOptions,
  ) {}

  static async create(options: AgentMachineOptions = {}): Promise<AgentMachine> {
    return new AgentMachine(await mkdtemp(join(tmpdir(), 'foundation-agent-machine-')), options);
  }

  get workspaceRoot(): string {
    return join(this.dir, 'workspaces');
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: [...(this.options.path ?? []), process.env['PATH'] ?? ''].join(delimiter),
      FOUNDATION_AGENT_CONFIG_DIR: join(this.dir, 'config'),
      FOUNDATION_AGENT_DATA_DIR: join(this.dir, 'data'),
      FOUNDATION_AGENT_WORKSPACE_ROOT: this.workspaceRoot,
      FOUNDATION_AGENT_RECONNECT_MAX_DELAY_MS: '400',
      ...this.options.env,
      ...extra,
    };
  }

  /** Runs one `foundation-agent` command to its end. */
  run(args: string[]): Promise<AgentCliResult> {
    const child = spawn(process.execPath, [FOUNDATION_AGENT_BIN, ...args], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** `foundation-agent pair`; throws with the CLI's output when it fails. */
  async pair(server: string, code: string, name: string): Promise<void> {
    const result = await this.run(['pair', '--server', server, '--code', code, '--name', name]);
    if (result.code !== 0) throw new Error(`foundation-agent pair exited ${result.code}: ${result.stderr}${result.stdout}`);
  }

  /** `foundation-agent start` in the background, `env` added to the machine's environment. */
  start(args: string[] = [], env: Record<string, string> = {}): AgentDaemon {
    return new AgentDaemon(spawn(process.execPath, [FOUNDATION_AGENT_BIN, 'start', ...args], { env: this.env(env), stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A running `foundation-agent start`: its JSON log lines, everything it printed, and its exit. */
export class AgentDaemon {
  /** The JSON log lines of stdout, parsed. */
  readonly logs: Array<Record<string, unknown>> = [];
  /** Everything the process wrote to stdout and stderr, as written. */
  output = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private buffered = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.output += text;
      this.buffered += text;
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line, unparsed: true });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line with `msg` (already written or still to come). */
  async waitForLog(msg: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find((line) => line['msg'] === msg);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`foundation-agent exited (${this.child.exitCode ?? this.child.signalCode}) without logging "${msg}": ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no log line "${msg}" within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends `signal` (unless the process has ended) and waits for its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}
