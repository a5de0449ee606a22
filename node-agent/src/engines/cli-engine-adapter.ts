import type { AgentEvent } from '@foundation/contracts';
import { ENGINE_CATALOG, type EngineId } from '@foundation/agent-engines';
import { readCliVersion } from './cli-version.js';
import type { EngineAdapter, EngineTurn } from './engine.js';
import { engineEnv } from './engine-env.js';
import type { TurnProtocol } from './turn-protocol.js';
import { superviseTurn } from './turn-supervisor.js';

export interface EngineAdapterOptions {
  /** The engine's executable: a name looked up on PATH or a path. Defaults to the catalog's name. */
  executable?: string;
  /** How long the engine gets to end by itself before SIGKILL; 5 s by default. */
  killGraceMs?: number;
}

/** How one turn of a given engine is started and read. */
export interface EngineInvocation {
  args: string[];
  stdin: 'ignore' | 'pipe';
  /** Variables added to the engine's environment (OpenCode's tool-bridge config). */
  env?: Record<string, string>;
  protocol: TurnProtocol;
}

const DEFAULT_KILL_GRACE_MS = 5000;

/**
 * What the three CLI adapters share: the executable, the cached `--version`, and running a turn through the
 * supervisor. A subclass only says how its CLI is invoked and how its lines read.
 */
export abstract class CliEngineAdapter implements EngineAdapter {
  readonly executable: string;
  private readonly killGraceMs: number;
  private cliVersion: Promise<string | undefined> | undefined;

  protected constructor(
    readonly id: EngineId,
    options: EngineAdapterOptions,
  ) {
    this.executable = options.executable ?? catalogExecutable(id);
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  version(): Promise<string | undefined> {
    this.cliVersion ??= readCliVersion(this.executable);
    return this.cliVersion;
  }

  async runTurn(turn: EngineTurn, emit: (event: AgentEvent) => void): Promise<void> {
    const invocation = this.invocation(turn, await this.version());
    await superviseTurn({
      launch: {
        executable: this.executable,
        args: invocation.args,
        cwd: turn.cwd,
        env: engineEnv(invocation.env),
        stdin: invocation.stdin,
      },
      protocol: invocation.protocol,
      idleTimeoutMs: turn.idleTimeoutMs,
      wallClockTimeoutMs: turn.wallClockTimeoutMs,
      signal: turn.signal,
      killGraceMs: this.killGraceMs,
      emit,
    });
  }

  protected abstract invocation(turn: EngineTurn, cliVersion: string | undefined): EngineInvocation;
}

function catalogExecutable(id: EngineId): string {
  const engine = ENGINE_CATALOG.find((candidate) => candidate.id === id);
  if (engine === undefined) throw new Error(`engine ${id} is not in the catalog`);
  return engine.executable;
}
