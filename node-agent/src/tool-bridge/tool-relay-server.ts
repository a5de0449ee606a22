import { randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BRIDGE_TOOLS, type BridgeTool, type RelayRequest, type RelayResponse, type ToolOutcome } from './relay-protocol.js';

/** Runs one tool call of a task on the platform; resolves with its outcome, never rejects. */
export type ToolCallHandler = (taskId: string, tool: BridgeTool, args: RelayRequest['arguments']) => Promise<ToolOutcome>;

/** A request line larger than this is refused: tool arguments are small, and the brain caps messages at 4 MiB. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * The daemon's end of the tool bridge: a unix socket (named pipe on Windows) that the tasks' MCP server
 * processes call. Each task registered gets a random token; a request with an unknown token is refused,
 * so another local user or a finished task cannot call tools in a task's name.
 */
export class ToolRelayServer {
  private readonly tokens = new Map<string, string>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly handle: ToolCallHandler,
  ) {}

  static async start(handle: ToolCallHandler): Promise<ToolRelayServer> {
    const name = `foundation-agent-${process.pid}-${randomBytes(6).toString('hex')}`;
    // Unix socket paths are limited to about 100 bytes, so the short temp dir rather than the data dir.
    const address = process.platform === 'win32' ? `\\\\.\\pipe\\${name}` : join(tmpdir(), `${name}.sock`);
    const server = createServer();
    const relay = new ToolRelayServer(server, address, handle);
    server.on('connection', (socket) => relay.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    if (process.platform !== 'win32') await chmod(address, 0o600);
    return relay;
  }

  /** A fresh token for the task's MCP server; valid until `unregister`. */
  register(taskId: string): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, taskId);
    return token;
  }

  unregister(token: string): void {
    this.tokens.delete(token);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (process.platform !== 'win32') await rm(this.address, { force: true });
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      void this.answer(line).then((response) => {
        if (response !== undefined && !socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
      });
    });
  }

  private async answer(line: string): Promise<RelayResponse | undefined> {
    let request: RelayRequest;
    try {
      request = JSON.parse(line) as RelayRequest;
    } catch {
      return undefined;
    }
    const id = request.id;
    const taskId = typeof request.token === 'string' ? this.tokens.get(request.token) : undefined;
    if (taskId === undefined) return { id, error: { reason: 'PERMISSION_DENIED', message: 'the tool bridge does not know this task (it may have ended)' } };
    if (!(BRIDGE_TOOLS as readonly string[]).includes(request.tool)) {
      return { id, error: { reason: 'NOT_FOUND', message: `unknown tool "${String(request.tool)}"` } };
    }
    const args = request.arguments !== null && typeof request.arguments === 'object' && !Array.isArray(request.arguments) ? request.arguments : {};
    const outcome = await this.handle(taskId, request.tool, args);
    return { id, ...outcome };
  }
}
