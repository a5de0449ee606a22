import { CliEngineAdapter, type EngineAdapterOptions, type EngineInvocation } from './cli-engine-adapter.js';
import { CodexProtocol } from './codex-protocol.js';
import type { EngineTurn, McpServerCommand } from './engine.js';

/**
 * Codex CLI, one `codex exec --json` process per turn. Its stdin is /dev/null: with a pipe, codex reads it to
 * EOF before starting ("Reading additional input from stdin...") and hangs. `--` keeps a prompt starting
 * with "-" or "resume" from being read as arguments.
 */
export class CodexAdapter extends CliEngineAdapter {
  constructor(options: EngineAdapterOptions = {}) {
    super('gateway.codex.v2', options);
  }

  protected invocation(turn: EngineTurn, cliVersion: string | undefined): EngineInvocation {
    return {
      args: codexArgs(turn),
      stdin: 'ignore',
      protocol: new CodexProtocol({ cwd: turn.cwd, cliVersion, resumeThreadId: turn.resumeEngineSessionId }),
    };
  }
}

/** `exec` flags first (resume needs them all again), then `resume <thread>`, then `-- <prompt>`. */
function codexArgs(turn: EngineTurn): string[] {
  const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-C', turn.cwd];
  if (turn.mcpServer !== undefined) args.push(...mcpServerOverrides(turn.mcpServer));
  if (turn.resumeEngineSessionId !== undefined) args.push('resume', turn.resumeEngineSessionId);
  args.push('--', turn.prompt);
  return args;
}

/** The tool bridge as `-c mcp_servers.<name>.…=<TOML value>` overrides of Codex's config. */
function mcpServerOverrides(server: McpServerCommand): string[] {
  const table = `mcp_servers.${tomlKey(server.name)}`;
  const env = Object.entries(server.env).map(([name, value]) => `${tomlKey(name)} = ${tomlString(value)}`);
  return [
    '-c',
    `${table}.command=${tomlString(server.command)}`,
    '-c',
    `${table}.args=[${server.args.map(tomlString).join(', ')}]`,
    '-c',
    `${table}.env={${env.join(', ')}}`,
  ];
}

/** JSON's string escapes are all valid in a TOML basic string (and JSON never writes the one TOML lacks, `\/`). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}
