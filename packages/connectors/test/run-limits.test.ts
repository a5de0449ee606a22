import {
  ConnectorTimeoutError,
  EgressDeniedError,
  ResponseTooLargeError,
  TooManyRedirectsError,
} from '@foundation/connectors';
import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import { rejectionOf, runBuiltin, sendJson, startLocalServer, type LocalServer } from './support/local-server.js';

const get = (url: string) => ({ method: 'GET', url });

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location });
  res.end();
}

/** Streams 16 KiB chunks until the client goes away (bounded at 16 MiB); records whether it was cut off. */
function streamForever(res: ServerResponse, state: { aborted: boolean }): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.on('close', () => (state.aborted = !res.writableFinished));
  const chunk = Buffer.alloc(16 * 1024, 'x');
  let sent = 0;
  const pump = (): void => {
    while (!res.destroyed && sent < 1024) {
      sent += 1;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('runAction() limits', () => {
  let server: LocalServer;
  const stream = { aborted: false };
  beforeEach(async () => {
    stream.aborted = false;
    server = await startLocalServer((request, res) => {
      const { port } = server;
      switch (request.url) {
        case '/hang':
          return; // never answers
        case '/slow-body':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.write('first part, then silence');
        case '/huge':
          return streamForever(res, stream);
        case '/declared-huge':
          res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
          return void res.write('a little');
        case '/a':
          return redirect(res, 302, '/b');
        case '/b':
          return redirect(res, 302, `http://127.0.0.1:${port}/a`);
        case '/hop':
          return redirect(res, 301, '/end');
        case '/see-other':
          return redirect(res, 303, '/end');
        case '/cross-origin':
          return redirect(res, 307, `http://localhost:${port}/end`);
        case '/to-metadata':
          return redirect(res, 302, 'http://169.254.169.254/latest/meta-data/');
        case '/to-loopback-literal':
          return redirect(res, 302, `http://127.0.0.1:${port}/end`);
        default:
          return sendJson(res, 200, { path: request.url, method: request.method });
      }
    });
  });
  afterEach(() => server.close());

  describe('timeout', () => {
    it('fails with ConnectorTimeoutError when the server never answers, within the budget plus slack', async () => {
      const started = Date.now();
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/hang`), { timeoutMs: 300 }));
      expect(error).to.be.instanceOf(ConnectorTimeoutError);
      expect(error).to.include({ reason: 'CONNECTOR_TIMEOUT', retryable: true, timeoutMs: 300 });
      expect(Date.now() - started).to.be.within(290, 1_000);
    });

    it('covers the response body: headers in time but a stalled body still times out', async () => {
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/slow-body`), { timeoutMs: 300 }));
      expect(error).to.be.instanceOf(ConnectorTimeoutError);
    });
  });

  describe('response size', () => {
    it('aborts the connection once a streamed body passes the limit', async () => {
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/huge`), { maxResponseBytes: 64 * 1024 }));
      expect(error).to.be.instanceOf(ResponseTooLargeError);
      expect(error).to.include({ reason: 'RESPONSE_TOO_LARGE', retryable: false, limitBytes: 64 * 1024 });
      await until(() => stream.aborted);
      expect(stream.aborted, 'the server saw the connection cut before it finished').to.equal(true);
    });

    it('refuses a body whose Content-Length already exceeds the limit without reading it', async () => {
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/declared-huge`), { maxResponseBytes: 1024 }));
      expect(error).to.be.instanceOf(ResponseTooLargeError);
    });
  });

  describe('redirects', () => {
    it('ends a redirect loop with TooManyRedirectsError after maxRedirects hops', async () => {
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/a`), { maxRedirects: 4 }));
      expect(error).to.be.instanceOf(TooManyRedirectsError);
      expect(error).to.include({ reason: 'TOO_MANY_REDIRECTS', retryable: false, maxRedirects: 4 });
      expect(server.requests.map((r) => r.url)).to.deep.equal(['/a', '/b', '/a', '/b', '/a']);
    });

    it('follows redirects within the limit and keeps credentials on the same origin', async () => {
      const input = { ...get(`${server.origin}/hop`), auth: { kind: 'bearer' } };
      const { output } = await runBuiltin('http.request', input, { secret: 'tok', maxRedirects: 1 });
      expect(output).to.deep.include({ status: 200, body: { path: '/end', method: 'GET' } });
      expect(server.requests.map((r) => r.headers.authorization)).to.deep.equal(['Bearer tok', 'Bearer tok']);
    });

    it('turns a POST into a bodiless GET on 303', async () => {
      const { output } = await runBuiltin('http.request', { method: 'POST', url: `${server.origin}/see-other`, body: { json: { a: 1 } } });
      expect(output).to.deep.include({ body: { path: '/end', method: 'GET' } });
      expect(server.requests[1]).to.include({ method: 'GET', body: '' });
      expect(server.requests[1]!.headers).not.to.have.property('content-type');
    });

    it('drops the credential header when a redirect leaves the origin (127.0.0.1 → localhost)', async () => {
      const input = { ...get(`${server.origin}/cross-origin`), auth: { kind: 'header', headerName: 'X-Api-Key' } };
      await runBuiltin('http.request', input, { secret: 'key-1' });
      expect(server.requests.map((r) => [r.url, r.headers['x-api-key']])).to.deep.equal([
        ['/cross-origin', 'key-1'],
        ['/end', undefined],
      ]);
    });

    it('checks every hop: a redirect to the metadata address is refused without connecting to it', async () => {
      const error = await rejectionOf(runBuiltin('http.request', get(`${server.origin}/to-metadata`)));
      expect(error).to.be.instanceOf(EgressDeniedError);
      expect(error.message).to.equal('egress to http://169.254.169.254 denied: is a link-local address');
    });

    it('checks every hop: an allowed host redirecting to a refused address stops there', async () => {
      const policy = { allowLoopback: false, allowPrivate: false, allowedHosts: ['localhost'] };
      const error = await rejectionOf(runBuiltin('http.request', get(`http://localhost:${server.port}/to-loopback-literal`), { policy }));
      expect(error).to.be.instanceOf(EgressDeniedError);
      expect(server.requests.map((r) => r.url)).to.deep.equal(['/to-loopback-literal']);
    });
  });
});
