import type { AgentEvent } from '@foundation/contracts';
import type { EngineId } from '@foundation/agent-engines';

/** A local MCP server the engine is told to start (the tool bridge), as a command line. */
export interface McpServerCommand {
  /** The name the engine shows its tools under, for example "foundation". */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** One turn of a coding agent on this machine. */
export interface EngineTurn {
  prompt: string;
  /** The task's working directory, already created and checked to be inside the workspace root. */
  cwd: string;
  /** The engine's session to continue (a follow-up turn); absent for a new one. */
  resumeEngineSessionId?: string;
  /** Kill the engine after this long without a line of output. */
  idleTimeoutMs: number;
  /** Kill the engine after this long in all. */
  wallClockTimeoutMs: number;
  /** The tool bridge, when the task asks for it. */
  mcpServer?: McpServerCommand;
  /** Cancels the turn: the adapter stops the engine and reports TurnCompleted(CANCELLED). */
  signal: AbortSignal;
}

/**
 * One coding-agent CLI behind the interface every engine shares. `runTurn` starts the CLI in its own
 * process group, maps each output line onto the normalized events (`foundation.agent.v1.AgentEvent`) and
 * hands them to `emit` in order; the last event is always exactly one TurnCompleted, whatever happened
 * (success, engine failure, cancel, timeout, crash, garbage, end of output without a terminal line). It
 * resolves once the whole process group is gone and never rejects.
 */
export interface EngineAdapter {
  readonly id: EngineId;
  /** The executable looked up on PATH (or the path configured for it). */
  readonly executable: string;
  /** The CLI's `--version` output, or undefined when it is not installed or does not answer. */
  version(): Promise<string | undefined>;
  runTurn(turn: EngineTurn, emit: (event: AgentEvent) => void): Promise<void>;
}
