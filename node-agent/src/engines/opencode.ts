import { CliEngineAdapter, type EngineAdapterOptions, type EngineInvocation } from './cli-engine-adapter.js';
import type { EngineTurn, McpServerCommand } from './engine.js';
import { OpenCodeProtocol } from './opencode-protocol.js';

/**
 * OpenCode, one `opencode run --format json` process per turn. Its stdin is /dev/null: `run` reads a piped
 * stdin to EOF and appends it to the prompt, so an open pipe hangs it. The tool bridge goes in through
 * OPENCODE_CONFIG_CONTENT, which OpenCode merges over its config files.
 */
export class OpenCodeAdapter extends CliEngineAdapter {
  constructor(options: EngineAdapterOptions = {}) {
    super('gateway.opencode.v2', options);
  }

  protected invocation(turn: EngineTurn, cliVersion: string | undefined): EngineInvocation {
    return {
      args: openCodeArgs(turn),
      stdin: 'ignore',
      env: turn.mcpServer === undefined ? {} : { OPENCODE_CONFIG_CONTENT: openCodeMcpConfig(turn.mcpServer) },
      protocol: new OpenCodeProtocol({
        cwd: turn.cwd,
        cliVersion,
        resumeSessionId: turn.resumeEngineSessionId,
        mcpServerName: turn.mcpServer?.name,
      }),
    };
  }
}

function openCodeArgs(turn: EngineTurn): string[] {
  const args = ['run', '--format', 'json'];
  if (turn.resumeEngineSessionId !== undefined) args.push('--session', turn.resumeEngineSessionId);
  args.push('--dir', turn.cwd, '--', turn.prompt);
  return args;
}

function openCodeMcpConfig(server: McpServerCommand): string {
  return JSON.stringify({
    mcp: { [server.name]: { type: 'local', command: [server.command, ...server.args], environment: server.env, enabled: true } },
  });
}
