import { CliEngineAdapter, type EngineAdapterOptions, type EngineInvocation } from './cli-engine-adapter.js';
import { ClaudeProtocol } from './claude-protocol.js';
import type { EngineTurn, McpServerCommand } from './engine.js';

/**
 * Claude Code in print mode with stream-json both ways. The prompt goes in as one user line on a stdin pipe
 * kept open for the interrupt request; closing it after the `result` line lets Claude exit. stream-json
 * output in print mode requires `--verbose`, and `--resume=<id>` uses the equals form so an id can never be
 * read as a flag.
 */
export class ClaudeAdapter extends CliEngineAdapter {
  constructor(options: EngineAdapterOptions = {}) {
    super('gateway.claude.v2', options);
  }

  protected invocation(turn: EngineTurn, cliVersion: string | undefined): EngineInvocation {
    return {
      args: claudeArgs(turn),
      stdin: 'pipe',
      protocol: new ClaudeProtocol({ prompt: turn.prompt, cliVersion, resumeSessionId: turn.resumeEngineSessionId }),
    };
  }
}

function claudeArgs(turn: EngineTurn): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--input-format', 'stream-json', '--permission-mode', 'acceptEdits'];
  if (turn.resumeEngineSessionId !== undefined) args.push(`--resume=${turn.resumeEngineSessionId}`);
  if (turn.mcpServer !== undefined) args.push('--mcp-config', mcpConfig(turn.mcpServer));
  return args;
}

/** The tool bridge as Claude's `--mcp-config` JSON. */
function mcpConfig(server: McpServerCommand): string {
  return JSON.stringify({
    mcpServers: { [server.name]: { type: 'stdio', command: server.command, args: server.args, env: server.env } },
  });
}
