import { fileURLToPath } from 'node:url';
import type { McpServerCommand } from '../engines/engine.js';
import { RELAY_ADDRESS_ENV, RELAY_TOKEN_ENV } from './relay-protocol.js';

const MCP_SERVER_SCRIPT = fileURLToPath(new URL('./mcp-server.ts', import.meta.url));
// Absolute, because the engine starts the server in the task's directory, where no tsx can be found.
const TSX_LOADER = import.meta.resolve('tsx');

/** The command an engine runs to start the tool bridge's MCP server for one task. */
export function toolBridgeCommand(relayAddress: string, token: string): McpServerCommand {
  return {
    name: 'foundation',
    command: process.execPath,
    args: ['--import', TSX_LOADER, MCP_SERVER_SCRIPT],
    env: { [RELAY_ADDRESS_ENV]: relayAddress, [RELAY_TOKEN_ENV]: token },
  };
}
