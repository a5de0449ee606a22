import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBuiltinCatalog, runAction, type ActionResult, type RunActionOptions } from '@foundation/connectors';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A test upstream on 127.0.0.1 (never anything else), recording every request and connection it sees. */
export interface LocalServer {
  origin: string;
  port: number;
  requests: RecordedRequest[];
  connections: () => number;
  close(): Promise<void>;
}

export type Handler = (request: RecordedRequest, res: ServerResponse, req: IncomingMessage) => void;

export async function startLocalServer(handler: Handler): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      handler(recorded, res, req);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

/** Limits for tests: loopback allowed (the only place a test server can be), everything else as in production. */
export function loopbackOptions(overrides: Partial<RunActionOptions> = {}): RunActionOptions {
  return {
    policy: { allowLoopback: true, allowPrivate: false },
    timeoutMs: 5_000,
    maxResponseBytes: 1_000_000,
    maxRedirects: 5,
    ...overrides,
  };
}

const builtin = createBuiltinCatalog();

/** Runs a built-in action under `loopbackOptions(overrides)`. */
export function runBuiltin(actionRef: string, input: unknown, overrides: Partial<RunActionOptions> = {}): Promise<ActionResult> {
  return runAction(builtin, actionRef, input, loopbackOptions(overrides));
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
