// The tool bridge's MCP server, started by the engine (over stdio) for a task that asked for the platform's
// tools. It runs no tool itself: each call goes to the node-agent daemon, which sends it to the platform
// over the brain stream, where the connector runs with the organization's secret (never seen here).
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AGENT_VERSION } from '../agent-version.js';
import { RELAY_ADDRESS_ENV, RELAY_TOKEN_ENV, type ToolOutcome } from './relay-protocol.js';
import { ToolRelayClient } from './tool-relay-client.js';

const address = process.env[RELAY_ADDRESS_ENV];
const token = process.env[RELAY_TOKEN_ENV];
if (!address || !token) {
  process.stderr.write(`foundation tool bridge: ${RELAY_ADDRESS_ENV} and ${RELAY_TOKEN_ENV} must be set (the node-agent sets them)\n`);
  process.exit(2);
}

const relay = new ToolRelayClient(address, token);
const server = new McpServer({ name: 'foundation', version: AGENT_VERSION });

server.registerTool(
  'connector_action',
  {
    description:
      "Runs an action of one of the organization's connectors (for example an HTTP request or a GitHub call) on the Foundation platform, with the organization's stored secret, and returns its result.",
    inputSchema: {
      action: z.string().min(1).describe('The connector action, for example "http.request" or "github.create_issue".'),
      input: z.record(z.string(), z.unknown()).describe("The action's input, as its catalog entry describes."),
      secret: z.string().optional().describe('The name of the organization secret the action authenticates with.'),
    },
  },
  async (args) => toToolResult(await relay.call('connector_action', args as JsonObject)),
);

server.registerTool(
  'agent_execute',
  {
    description:
      'Runs one turn of another coding agent of the organization (on any of its nodes offering the engine) with the prompt, waits for it, and returns its final message as {text, sessionId, status}. The agent starts in a fresh session, without these tools.',
    inputSchema: {
      engine: z.string().min(1).describe('"gateway.codex.v2", "gateway.claude.v2" or "gateway.opencode.v2".'),
      prompt: z.string().min(1),
      workspace: z.string().optional().describe("The directory the agent works in, relative to its node's workspace root; by default one of its own for this task."),
      timeout_seconds: z.number().int().min(1).max(3600).optional().describe('How long to wait for the agent, 1 to 3600 seconds; 600 by default.'),
    },
  },
  async (args) => toToolResult(await relay.call('agent_execute', args as JsonObject)),
);

function toToolResult(outcome: ToolOutcome): CallToolResult {
  if ('error' in outcome) {
    return { isError: true, content: [{ type: 'text', text: `${outcome.error.reason}: ${outcome.error.message}` }] };
  }
  return {
    content: [{ type: 'text', text: JSON.stringify(outcome.result) }],
    ...(isObject(outcome.result) && { structuredContent: outcome.result }),
  };
}

function isObject(value: JsonValue): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

await server.connect(new StdioServerTransport());
// The engine ends the bridge by closing its stdin; the relay socket must not keep the process alive.
process.stdin.on('close', () => {
  relay.close();
  void server.close();
});
