import http2 from 'node:http2';
import type net from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, createContextValues, type HandlerContext, type MethodImpl } from '@connectrpc/connect';
import { compressionGzip, connectNodeAdapter, createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { BrainService, ConnectRequestSchema, ConnectResponseSchema, type ConnectRequest } from '@foundation/contracts';
import { expect } from 'chai';
import { GrpcBidiStreams, grpcBidiStreamRoute } from '../src/grpc-bidi-streams.js';
import { createLogger } from '../src/logger.js';
import { createRequestInterceptor } from '../src/request-interceptor.js';
import { rpcError } from '../src/rpc-error.js';
import { RpcMetrics } from '../src/rpc-metrics.js';

const READ_MAX_BYTES = 1024;
const COMPRESS_MIN_BYTES = 2048;
const PATH = '/foundation.agent.v1.BrainService/Connect';

/** What the implementation saw of a call, on the server. */
interface Seen {
  requests: ConnectRequest[];
  timeoutMs: number | undefined;
  abortCode?: Code;
  readError?: ConnectError;
}

/**
 * BrainService.Connect as a test implementation: a Heartbeat is answered with an Ack counting its running
 * tasks; a Hello is refused (an error with an ErrorInfo); a TaskRejected is answered with a CancelTask
 * whose reason repeats its reason 1,000 times (a large message); a ToolCall waits for the call's end; an
 * error of the request stream is rethrown.
 */
function connectImpl(seen: Seen[]): MethodImpl<typeof BrainService.method.connect> {
  return async function* (requests, context: HandlerContext) {
    const call: Seen = { requests: [], timeoutMs: context.timeoutMs() };
    seen.push(call);
    context.signal.addEventListener('abort', () => (call.abortCode ??= ConnectError.from(context.signal.reason).code));
    context.responseHeader.set('x-impl', 'header');
    context.responseTrailer.set('x-impl', 'trailer');
    try {
      for await (const request of requests) {
        call.requests.push(request);
        const { kind } = request;
        switch (kind.case) {
          case 'heartbeat':
            yield { kind: { case: 'ack', value: { taskId: 't', seq: BigInt(kind.value.running.length) } } };
            break;
          case 'hello':
            throw rpcError(Code.InvalidArgument, 'MALFORMED_REQUEST', 'no Hello here');
          case 'taskRejected':
            yield create(ConnectResponseSchema, { kind: { case: 'cancelTask', value: { taskId: 't', reason: kind.value.reason.repeat(1000) } } });
            break;
          case 'toolCall':
            await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
            throw context.signal.reason;
        }
      }
    } catch (error) {
      call.readError = ConnectError.from(error);
      throw error;
    }
  };
}

interface TestServer {
  port: number;
  seen: Seen[];
  logs: { code: string; reason?: string }[];
  /** Calls Node's compatibility layer handed to connect-node. */
  compatCalls: number;
  /** Aborts the shutdown signal, as FoundationServer.close does. */
  shutDown(): void;
  close(): Promise<void>;
}

/** connect-node's server for BrainService, with GrpcBidiStreams in front of it when `lean`. */
async function startServer(lean: boolean): Promise<TestServer> {
  const seen: Seen[] = [];
  const logs: TestServer['logs'] = [];
  const log = createLogger({
    level: 'info',
    target: 'test',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        const line = JSON.parse(chunk.toString()) as { msg: string; code: string; reason?: string };
        if (line.msg === 'rpc') logs.push({ code: line.code, reason: line.reason });
        done();
      },
    }),
  });
  const interceptors = [createRequestInterceptor(log, new RpcMetrics())];
  const shutdown = new AbortController();
  const impl = connectImpl(seen);
  const adapter = connectNodeAdapter({
    routes: (router) => router.service(BrainService, { connect: impl }),
    interceptors,
    readMaxBytes: READ_MAX_BYTES,
    compressMinBytes: COMPRESS_MIN_BYTES,
    shutdownSignal: shutdown.signal,
  });
  const server = http2.createServer({}, adapter);
  if (lean) {
    new GrpcBidiStreams({
      routes: [grpcBidiStreamRoute(BrainService.method.connect, impl)],
      interceptors,
      readMaxBytes: READ_MAX_BYTES,
      compressMinBytes: COMPRESS_MIN_BYTES,
      shutdownSignal: shutdown.signal,
      contextValues: () => createContextValues(),
    }).attachTo(server);
  }
  const result: TestServer = {
    port: 0,
    seen,
    logs,
    compatCalls: 0,
    shutDown: () => shutdown.abort(new ConnectError('the server is shutting down', Code.Unavailable)),
    close: async () => {},
  };
  server.on('request', () => result.compatCalls++);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.port = (server.address() as net.AddressInfo).port;
  result.close = () => {
    result.shutDown();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.close();
    return closed;
  };
  return result;
}

function frame(bytes: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + 5);
  new DataView(out.buffer).setUint32(1, bytes.byteLength);
  out[0] = flags;
  out.set(bytes, 5);
  return out;
}

function request(kind: MessageInitShape<typeof ConnectRequestSchema>['kind']): Uint8Array {
  return frame(toBinary(ConnectRequestSchema, create(ConnectRequestSchema, { kind })));
}

const heartbeat = (running: number) =>
  request({ case: 'heartbeat', value: { running: Array.from({ length: running }, (_, i) => ({ taskId: `t${i}`, leaseToken: 'l' })) } });

interface RawResult {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  /** Response frames: their flags and byte lengths (as sent, so compressed ones too). */
  frames: { flags: number; bytes: number }[];
}

/**
 * One call over a bare HTTP/2 client, to see the wire: what it sends, whether it ends its side, and
 * whether it cancels (RST_STREAM CANCEL) after `cancelAfterMs`.
 */
async function rawCall(port: number, options: { headers?: Record<string, string>; send: Uint8Array[]; end?: boolean; cancelAfterMs?: number }): Promise<RawResult> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': 'the-request',
      ...options.headers,
    });
    const result: RawResult = { headers: {}, trailers: {}, frames: [] };
    stream.on('response', (headers) => (result.headers = withoutDate(headers)));
    // A server that ended its side leaves the stream open until the client ends its own.
    stream.on('trailers', (trailers) => {
      result.trailers = { ...trailers };
      stream.end();
    });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    for (const bytes of options.send) stream.write(bytes);
    if (options.end !== false) stream.end();
    if (options.cancelAfterMs !== undefined) setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), options.cancelAfterMs);
    await new Promise((resolve) => stream.once('close', resolve));
    const body = Buffer.concat(chunks);
    for (let offset = 0; offset < body.length; ) {
      const bytes = body.readUInt32BE(offset + 1);
      result.frames.push({ flags: body[offset]!, bytes });
      offset += 5 + bytes;
    }
    return result;
  } finally {
    session.close();
  }
}

function withoutDate(headers: http2.IncomingHttpHeaders): Record<string, unknown> {
  const { date, ...rest } = headers;
  expect(date).to.be.a('string');
  return { ...rest };
}

/** Runs `call` against connect-node alone and against GrpcBidiStreams; returns both outcomes. */
async function onBoth<T>(call: (server: TestServer) => Promise<T>): Promise<{ connectNode: T; lean: T; servers: { connectNode: TestServer; lean: TestServer } }> {
  const connectNode = await startServer(false);
  const lean = await startServer(true);
  try {
    return { connectNode: await call(connectNode), lean: await call(lean), servers: { connectNode, lean } };
  } finally {
    await Promise.all([connectNode.close(), lean.close()]);
  }
}

describe('GrpcBidiStreams', () => {
  describe('on the wire, as connect-node', () => {
    before(function () {
      if (process.env.ONLY_CLIENTS) this.skip();
    });
    it('answers each message with the headers first and grpc-status 0 and the trailers last', async () => {
      const { connectNode, lean, servers } = await onBoth((s) => rawCall(s.port, { send: [heartbeat(1), heartbeat(3)] }));
      expect(lean).to.deep.equal(connectNode);
      expect(lean.headers).to.deep.include({ ':status': 200, 'content-type': 'application/grpc+proto', 'x-impl': 'header', 'x-request-id': 'the-request' });
      expect(lean.trailers).to.deep.include({ 'grpc-status': '0', 'x-impl': 'trailer' });
      expect(lean.frames).to.have.length(2);
      expect(servers.lean.compatCalls).to.equal(0);
      expect(servers.lean.logs).to.deep.equal(servers.connectNode.logs);
    });

    it('ends with the error of the implementation, its ErrorInfo in grpc-status-details-bin, after the messages before it', async () => {
      const { connectNode, lean, servers } = await onBoth((s) => rawCall(s.port, { send: [heartbeat(0), request({ case: 'hello', value: {} })] }));
      expect(lean).to.deep.equal(connectNode);
      expect(lean.trailers).to.deep.include({ 'grpc-status': String(Code.InvalidArgument), 'grpc-message': 'no%20Hello%20here' });
      expect(lean.trailers['grpc-status-details-bin']).to.be.a('string');
      expect(lean.frames).to.have.length(1);
      expect(servers.lean.logs).to.deep.equal([{ code: 'invalid_argument', reason: 'no Hello here' }]);
      expect(servers.lean.logs).to.deep.equal(servers.connectNode.logs);
    });

    for (const [name, send, code, reason] of [
      ['a message over readMaxBytes', [heartbeat(200)], Code.ResourceExhausted, 'REQUEST_TOO_LARGE'],
      ['a message that is not protobuf', [frame(new Uint8Array([0xff, 0xff, 0xff]))], Code.InvalidArgument, 'MALFORMED_REQUEST'],
      ['a frame cut short by the end of the stream', [heartbeat(1).subarray(0, 8)], Code.InvalidArgument, undefined],
      ['a compressed frame on a stream that named no compression', [frame(gzipSync(toBinary(ConnectRequestSchema, create(ConnectRequestSchema))), 1)], Code.Internal, 'INTERNAL'],
    ] as const) {
      it(`fails the request stream on ${name}, as connect-es does`, async () => {
        const { connectNode, lean, servers } = await onBoth((s) => rawCall(s.port, { send: [...send] }));
        expect(lean).to.deep.equal(connectNode);
        expect(lean.trailers['grpc-status']).to.equal(String(code));
        expect(servers.lean.seen[0]!.readError?.code).to.equal(servers.connectNode.seen[0]!.readError?.code);
        expect(servers.lean.seen[0]!.readError?.rawMessage).to.equal(servers.connectNode.seen[0]!.readError?.rawMessage);
        expect(servers.lean.seen[0]!.requests).to.deep.equal(servers.connectNode.seen[0]!.requests);
        if (reason !== undefined) expect(decodeURIComponent(String(lean.trailers['grpc-message']))).to.not.equal('');
        expect(servers.lean.logs).to.deep.equal(servers.connectNode.logs);
      });
    }

    it('hands over the messages that arrived before one over readMaxBytes (connect-es drops those of the same DATA chunk)', async () => {
      const server = await startServer(true);
      try {
        const result = await rawCall(server.port, { send: [Buffer.concat([heartbeat(1), heartbeat(200)])] });
        expect(result.frames).to.have.length(1);
        expect(result.trailers['grpc-status']).to.equal(String(Code.ResourceExhausted));
        expect(server.seen[0]!.readError?.rawMessage).to.match(/^message size \d+ is larger than configured readMaxBytes 1024$/);
      } finally {
        await server.close();
      }
    });

    it('gives the implementation the deadline of grpc-timeout, and ends the call with DEADLINE_EXCEEDED when it passes', async () => {
      const toolCall = request({ case: 'toolCall', value: { taskId: 't', callId: 'c', tool: 'x' } });
      const { connectNode, lean, servers } = await onBoth((s) => rawCall(s.port, { headers: { 'grpc-timeout': '150m' }, send: [toolCall], end: false }));
      expect(lean).to.deep.equal(connectNode);
      expect(lean.trailers['grpc-status']).to.equal(String(Code.DeadlineExceeded));
      expect(servers.lean.seen[0]!.timeoutMs).to.be.within(100, 150);
      expect(servers.lean.seen[0]!.abortCode).to.equal(Code.DeadlineExceeded);
    });

    it('fails the request stream on a grpc-timeout it cannot read', async () => {
      const { connectNode, lean } = await onBoth((s) => rawCall(s.port, { headers: { 'grpc-timeout': 'soon' }, send: [heartbeat(1)] }));
      expect(lean).to.deep.equal(connectNode);
      expect(lean.trailers['grpc-status']).to.equal(String(Code.InvalidArgument));
    });

    it('aborts the call with CANCELED when the client resets the stream', async () => {
      const toolCall = request({ case: 'toolCall', value: { taskId: 't', callId: 'c', tool: 'x' } });
      const { servers } = await onBoth(async (s) => {
        await rawCall(s.port, { send: [toolCall], end: false, cancelAfterMs: 100 });
        // The server sees the reset after the client closed its side.
        for (let i = 0; i < 50 && s.seen[0]?.abortCode === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      });
      expect(servers.lean.seen[0]!.abortCode).to.equal(Code.Canceled);
      expect(servers.connectNode.seen[0]!.abortCode).to.equal(Code.Canceled);
    });

    it('ends open calls with the shutdown signal\'s error', async () => {
      const toolCall = request({ case: 'toolCall', value: { taskId: 't', callId: 'c', tool: 'x' } });
      const { connectNode, lean, servers } = await onBoth((s) => {
        setTimeout(() => s.shutDown(), 100);
        return rawCall(s.port, { send: [toolCall], end: false });
      });
      expect(lean).to.deep.equal(connectNode);
      expect(lean.trailers).to.deep.include({ 'grpc-status': String(Code.Unavailable), 'grpc-message': 'the%20server%20is%20shutting%20down' });
      expect(servers.lean.logs).to.deep.equal(servers.connectNode.logs);
    });

    it('compresses messages from compressMinBytes with gzip when the client accepts it, and names it in grpc-encoding', async () => {
      const rejected = request({ case: 'taskRejected', value: { taskId: 't', reason: 'nope' } });
      const { connectNode, lean } = await onBoth((s) => rawCall(s.port, { headers: { 'grpc-accept-encoding': 'gzip' }, send: [rejected, heartbeat(1)] }));
      expect(lean).to.deep.equal(connectNode);
      expect(lean.headers['grpc-encoding']).to.equal('gzip');
      expect(lean.frames.map((f) => f.flags)).to.deep.equal([1, 0]);
    });
  });

  describe('with connect-node clients', () => {
    before(function () {
      if (process.env.ONLY_WIRE) this.skip();
    });
    it('serves gRPC clients itself, and leaves Connect clients and compressed requests to connect-node', async () => {
      const server = await startServer(true);
      try {
        const baseUrl = `http://127.0.0.1:${server.port}`;
        const requests = async function* () {
          yield create(ConnectRequestSchema, { kind: { case: 'heartbeat', value: { running: [{ taskId: 'a', leaseToken: 'l' }] } } });
        };
        const seqs = async (transport: Parameters<typeof createClient>[1]) => {
          const out: bigint[] = [];
          for await (const response of createClient(BrainService, transport).connect(requests())) {
            if (response.kind.case === 'ack') out.push(response.kind.value.seq);
          }
          return out;
        };
        expect(await seqs(createGrpcTransport({ baseUrl }))).to.deep.equal([1n]);
        expect(server.compatCalls).to.equal(0);
        expect(await seqs(createConnectTransport({ baseUrl, httpVersion: '2' }))).to.deep.equal([1n]);
        expect(await seqs(createGrpcTransport({ baseUrl, sendCompression: compressionGzip }))).to.deep.equal([1n]);
        expect(server.compatCalls).to.equal(2);
      } finally {
        await server.close();
      }
    });
  });
});
