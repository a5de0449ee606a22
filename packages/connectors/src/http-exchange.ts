import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { ConnectorNetworkError, ConnectorTimeoutError, ResponseTooLargeError } from './connector-errors.js';
import type { VettedAddress, VettedTarget } from './egress-guard.js';

/** The limits one action run shares across all its hops. */
export interface ExchangeLimits {
  maxResponseBytes: number;
  timeoutMs: number;
  /** Aborted when the run's time budget is spent; tears down whatever socket is open. */
  signal: AbortSignal;
}

export interface ExchangeRequest {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A response whose head has arrived; the body is either read (within the limit) or discarded. */
export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  readBody(): Promise<Buffer>;
  discard(): void;
}

/** Error codes worth retrying: the network, not the request, was the problem. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/**
 * One HTTP request to an already vetted target, with Node's `http`/`https` rather than fetch: the `lookup`
 * option pins the connection to the vetted addresses, and reading the body as a stream lets the size limit
 * abort the connection at the first byte too many. A fresh agent per request means no pooled socket
 * outlives the guard's decision.
 */
export function exchange(target: VettedTarget, request: ExchangeRequest, limits: ExchangeLimits, name: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const client = target.url.protocol === 'https:' ? https : http;
    const options = {
      method: request.method,
      headers: request.headers,
      agent: false as const,
      lookup: pinnedLookup(target.addresses),
      signal: limits.signal,
    };
    const req = client.request(target.url, options, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        readBody: () => readLimited(req, res, limits, name),
        discard: () => req.destroy(),
      });
    });
    req.on('error', (error) => reject(networkError(error, limits, name)));
    req.end(request.body);
  });
}

/**
 * Answers Node's connect-time lookup with the vetted addresses instead of asking DNS again. With `all`
 * (Node's happy-eyeballs connect) every vetted address is offered, so `localhost` works whichever family
 * the server listens on.
 */
function pinnedLookup(addresses: readonly VettedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no vetted address of the requested family'), { code: 'ENOTFOUND' }), '', 4);
    } else if (options.all) {
      callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    } else {
      callback(null, first.address, first.family);
    }
  };
}

function readLimited(req: ClientRequest, res: IncomingMessage, limits: ExchangeLimits, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): void => {
      req.destroy();
      reject(new ResponseTooLargeError(name, limits.maxResponseBytes));
    };
    if (Number(res.headers['content-length']) > limits.maxResponseBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxResponseBytes) return tooLarge();
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', (error) => reject(networkError(error, limits, name)));
    res.on('close', () => {
      if (!res.complete) reject(networkError(Object.assign(new Error('closed early'), { code: 'ECONNRESET' }), limits, name));
    });
  });
}

/** Maps a socket-level failure to a typed error; an abort is the time budget running out. */
function networkError(error: Error, limits: ExchangeLimits, name: string): Error {
  if (limits.signal.aborted) return new ConnectorTimeoutError(limits.timeoutMs);
  const code = (error as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  return new ConnectorNetworkError(name, code, TRANSIENT.has(code));
}
