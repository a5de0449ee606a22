import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { BridgeTool, RelayRequest, RelayResponse, ToolOutcome } from './relay-protocol.js';

/**
 * The MCP server process's end of the relay: one connection to the daemon, requests matched to responses
 * by id, so the engine may run several tool calls at once.
 */
export class ToolRelayClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (outcome: ToolOutcome) => void>();
  private socket: Socket | undefined;

  constructor(
    private readonly address: string,
    private readonly token: string,
  ) {}

  async call(tool: BridgeTool, args: RelayRequest['arguments']): Promise<ToolOutcome> {
    const socket = await this.connected();
    const id = this.nextId++;
    const request: RelayRequest = { id, token: this.token, tool, arguments: args };
    return new Promise<ToolOutcome>((resolve) => {
      this.waiting.set(id, resolve);
      socket.write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private async connected(): Promise<Socket> {
    if (this.socket !== undefined && !this.socket.destroyed) return this.socket;
    const socket = connect(this.address);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }).catch((error: Error) => {
      throw new Error(`the node-agent's tool relay is not reachable: ${error.message}`);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.failWaiting('the node-agent closed the tool relay'));
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => this.settle(line));
    this.socket = socket;
    return socket;
  }

  private settle(line: string): void {
    const response = JSON.parse(line) as RelayResponse;
    const resolve = this.waiting.get(response.id);
    if (resolve === undefined) return;
    this.waiting.delete(response.id);
    resolve('result' in response ? { result: response.result } : { error: response.error });
  }

  private failWaiting(message: string): void {
    for (const resolve of this.waiting.values()) resolve({ error: { reason: 'UNAVAILABLE', message } });
    this.waiting.clear();
  }
}
