import { connect } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect } from 'chai';
import { toolBridgeCommand } from '../src/tool-bridge/mcp-server-command.js';
import type { BridgeTool, ToolOutcome } from '../src/tool-bridge/relay-protocol.js';
import { ToolRelayServer } from '../src/tool-bridge/tool-relay-server.js';

interface RelayedCall {
  taskId: string;
  tool: BridgeTool;
  args: unknown;
}

describe('tool bridge', () => {
  let relay: ToolRelayServer;
  let calls: RelayedCall[];
  let answer: (call: RelayedCall) => ToolOutcome;
  let client: Client | undefined;

  beforeEach(async () => {
    calls = [];
    answer = () => ({ result: { ok: true } });
    relay = await ToolRelayServer.start(async (taskId, tool, args) => {
      const call = { taskId, tool, args };
      calls.push(call);
      return answer(call);
    });
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await relay.close();
  });

  async function connectClient(taskId: string): Promise<Client> {
    const command = toolBridgeCommand(relay.address, relay.register(taskId));
    // The engine starts the server in the task's directory, where no node_modules is to be found.
    const transport = new StdioClientTransport({ command: command.command, args: command.args, env: { ...(process.env as Record<string, string>), ...command.env }, cwd: '/' });
    client = new Client({ name: 'test-engine', version: '0' });
    await client.connect(transport);
    return client;
  }

  it('lists connector_action and agent_execute with their input schemas', async () => {
    const mcp = await connectClient('task-1');
    const { tools } = await mcp.listTools();
    expect(tools.map((tool) => tool.name).sort()).to.deep.equal(['agent_execute', 'connector_action']);
    const connector = tools.find((tool) => tool.name === 'connector_action')!;
    expect(Object.keys(connector.inputSchema.properties ?? {}).sort()).to.deep.equal(['action', 'input', 'secret']);
    expect(connector.inputSchema.required).to.include.members(['action', 'input']);
    const agent = tools.find((tool) => tool.name === 'agent_execute')!;
    expect(agent.inputSchema.required).to.include.members(['engine', 'prompt']);
  });

  it('relays connector_action to the daemon in the task’s name and returns the platform’s result', async () => {
    answer = () => ({ result: { status: 201, body: { id: 7 } } });
    const mcp = await connectClient('task-1');
    const result = await mcp.callTool({ name: 'connector_action', arguments: { action: 'http.request', input: { url: 'http://x' }, secret: 'api-key' } });
    expect(calls).to.deep.equal([{ taskId: 'task-1', tool: 'connector_action', args: { action: 'http.request', input: { url: 'http://x' }, secret: 'api-key' } }]);
    expect(result.isError).to.not.equal(true);
    expect(result.structuredContent).to.deep.equal({ status: 201, body: { id: 7 } });
    expect(result.content).to.deep.equal([{ type: 'text', text: '{"status":201,"body":{"id":7}}' }]);
  });

  it('relays agent_execute', async () => {
    answer = () => ({ result: 'the other agent’s final message' });
    const mcp = await connectClient('task-2');
    const result = await mcp.callTool({ name: 'agent_execute', arguments: { engine: 'gateway.claude.v2', prompt: 'summarize' } });
    expect(calls[0]).to.deep.equal({ taskId: 'task-2', tool: 'agent_execute', args: { engine: 'gateway.claude.v2', prompt: 'summarize' } });
    expect(result.content).to.deep.equal([{ type: 'text', text: '"the other agent’s final message"' }]);
  });

  it('turns the platform’s error into an MCP tool error', async () => {
    answer = () => ({ error: { reason: 'CONNECTOR_FAILED', message: 'the API answered 500' } });
    const mcp = await connectClient('task-1');
    const result = await mcp.callTool({ name: 'connector_action', arguments: { action: 'http.request', input: {} } });
    expect(result.isError).to.equal(true);
    expect(result.content).to.deep.equal([{ type: 'text', text: 'CONNECTOR_FAILED: the API answered 500' }]);
  });

  it('refuses invalid arguments before anything is relayed', async () => {
    const mcp = await connectClient('task-1');
    const result = await mcp.callTool({ name: 'connector_action', arguments: { input: {} } });
    expect(result.isError).to.equal(true);
    expect(calls).to.deep.equal([]);
  });

  it('refuses a request with an unknown token', async () => {
    const socket = connect(relay.address);
    const line = await new Promise<string>((resolve) => {
      socket.on('data', (chunk) => resolve(chunk.toString()));
      socket.write(`${JSON.stringify({ id: 1, token: 'guessed', tool: 'connector_action', arguments: {} })}\n`);
    });
    socket.destroy();
    expect(JSON.parse(line)).to.deep.equal({ id: 1, error: { reason: 'PERMISSION_DENIED', message: 'the tool bridge does not know this task (it may have ended)' } });
    expect(calls).to.deep.equal([]);
  });

  it('refuses calls of a task whose token was released', async () => {
    const token = relay.register('task-1');
    relay.unregister(token);
    const command = toolBridgeCommand(relay.address, token);
    const transport = new StdioClientTransport({ command: command.command, args: command.args, env: { ...(process.env as Record<string, string>), ...command.env } });
    client = new Client({ name: 'test-engine', version: '0' });
    await client.connect(transport);
    const result = await client.callTool({ name: 'agent_execute', arguments: { engine: 'gateway.codex.v2', prompt: 'x' } });
    expect(result.isError).to.equal(true);
    expect(calls).to.deep.equal([]);
  });
});
