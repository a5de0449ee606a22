import { Writable } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, createContextKey, type ConnectRouter, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { expect } from 'chai';
import { EchoRequestSchema, EchoResponseSchema, ErrorInfoSchema, Health, HealthCheckResponse_ServingStatus, MetaService, type EchoRequest } from '@foundation/contracts';
import { createInProcessTransport } from '../src/in-process-transport.js';
import { createLogger } from '../src/logger.js';
import { createRequestInterceptor } from '../src/request-interceptor.js';
import { rpcError } from '../src/rpc-error.js';
import { RpcMetrics } from '../src/rpc-metrics.js';

const seenByServerKey = createContextKey<string | undefined>(undefined);

/** What MetaService.Echo was called with; it answers by the message: echo it, fail, or wait for the call's end. */
interface Echoed {
  request: EchoRequest;
  context: HandlerContext;
}

function setUp(clientInterceptors: Interceptor[] = []) {
  const logLines: string[] = [];
  const log = createLogger({
    level: 'info',
    target: 'test',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const echoed: Echoed[] = [];
  const response = create(EchoResponseSchema, { message: 'the answer' });
  const routes = (router: ConnectRouter) => {
    router.service(MetaService, {
      async echo(request, context) {
        echoed.push({ request, context });
        context.responseHeader.set('x-answered-by', 'echo');
        switch (request.message) {
          case 'refuse':
            throw rpcError(Code.InvalidArgument, 'INVALID_FIELD', 'the message is refused');
          case 'crash':
            throw new TypeError('a bug with a secret stack trace');
          case 'wait':
            await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
            throw context.signal.reason;
          default:
            return request.message === 'same' ? response : { message: `${request.message} (seen by server: ${context.values.get(seenByServerKey)})` };
        }
      },
    });
    router.service(Health, {
      async *watch() {
        yield { status: HealthCheckResponse_ServingStatus.SERVING };
        yield { status: HealthCheckResponse_ServingStatus.NOT_SERVING };
      },
    });
  };
  const markOnServer: Interceptor = (next) => async (req) => {
    req.contextValues.set(seenByServerKey, req.header.get('x-from-client') ?? 'nothing');
    return next(req);
  };
  const shutdown = new AbortController();
  const transport = createInProcessTransport({
    routes,
    serverInterceptors: [createRequestInterceptor(log, new RpcMetrics()), markOnServer],
    clientInterceptors,
    shutdownSignal: shutdown.signal,
  });
  return { transport, echoed, response, logLines, shutdown };
}

describe('in-process transport', () => {
  it('hands the request and the response over as objects, without serializing them', async () => {
    const { transport, echoed, response } = setUp();
    const request = create(EchoRequestSchema, { message: 'same' });
    const answer = await createClient(MetaService, transport).echo(request);
    expect(echoed[0]!.request).to.equal(request);
    expect(answer).to.equal(response);
  });

  it('runs the client interceptors, then the server interceptors, and returns the response headers', async () => {
    let answeredBy: string | null = null;
    const tagRequest: Interceptor = (next) => async (req) => {
      req.header.set('x-from-client', 'tagged');
      const res = await next(req);
      answeredBy = res.header.get('x-answered-by');
      return res;
    };
    const { transport, logLines } = setUp([tagRequest]);
    const answer = await createClient(MetaService, transport).echo({ message: 'hello' });
    expect(answer.message).to.equal('hello (seen by server: tagged)');
    expect(answeredBy).to.equal('echo');
    expect(logLines.map((l) => JSON.parse(l) as { rpc: string; code: string })).to.deep.include({ ...JSON.parse(logLines[0]!), rpc: 'foundation.meta.v1.MetaService/Echo', code: 'ok' });
  });

  it('gives the implementation a full message when the caller passes an init shape', async () => {
    const { transport, echoed } = setUp();
    await createClient(MetaService, transport).echo({});
    expect(echoed[0]!.request.$typeName).to.equal('foundation.meta.v1.EchoRequest');
    expect(echoed[0]!.request.message).to.equal('');
  });

  it('returns a refusal with its code, reason and response metadata, and no server-side cause', async () => {
    const { transport } = setUp();
    const error = await createClient(MetaService, transport)
      .echo({ message: 'refuse' })
      .then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(ConnectError);
    const refused = error as ConnectError;
    expect(refused.code).to.equal(Code.InvalidArgument);
    expect(refused.rawMessage).to.equal('the message is refused');
    expect(refused.findDetails(ErrorInfoSchema).map((d) => d.reason)).to.deep.equal(['INVALID_FIELD']);
    expect(refused.metadata.get('x-answered-by')).to.equal('echo');
    expect(refused.metadata.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(refused.cause).to.equal(undefined);
  });

  it('turns an unexpected error into INTERNAL without its message or stack, as over the network', async () => {
    const { transport, logLines } = setUp();
    const error = (await createClient(MetaService, transport)
      .echo({ message: 'crash' })
      .then(() => undefined, (e: unknown) => e)) as ConnectError;
    expect(error.code).to.equal(Code.Internal);
    expect(error.rawMessage).to.match(/^internal error; quote request id [0-9a-f-]{36} when reporting it$/);
    expect(error.cause).to.equal(undefined);
    expect(error.message + JSON.stringify(error.findDetails(ErrorInfoSchema))).not.to.include('secret stack trace');
    expect(logLines.join('')).to.include('a bug with a secret stack trace');
  });

  it('passes the deadline to the implementation and ends the call with DEADLINE_EXCEEDED', async () => {
    const { transport, echoed } = setUp();
    const error = (await createClient(MetaService, transport)
      .echo({ message: 'wait' }, { timeoutMs: 50 })
      .then(() => undefined, (e: unknown) => e)) as ConnectError;
    expect(error.code).to.equal(Code.DeadlineExceeded);
    const remaining = echoed[0]!.context.timeoutMs();
    expect(remaining).to.be.a('number').and.at.most(50);
    expect(echoed[0]!.context.signal.aborted).to.equal(true);
  });

  it("aborts the implementation's signal when the caller cancels", async () => {
    const { transport, echoed } = setUp();
    const caller = new AbortController();
    const call = createClient(MetaService, transport).echo({ message: 'wait' }, { signal: caller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    caller.abort();
    const error = (await call.then(() => undefined, (e: unknown) => e)) as ConnectError;
    expect(error.code).to.equal(Code.Canceled);
    expect(echoed[0]!.context.signal.aborted).to.equal(true);
  });

  it("aborts the implementation's signal when the server shuts down", async () => {
    const { transport, echoed, shutdown } = setUp();
    const call = createClient(MetaService, transport).echo({ message: 'wait' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    shutdown.abort(new ConnectError('the server is shutting down', Code.Unavailable));
    const error = (await call.then(() => undefined, (e: unknown) => e)) as ConnectError;
    expect(error.code).to.equal(Code.Unavailable);
    expect(echoed[0]!.context.signal.aborted).to.equal(true);
  });

  it('answers UNIMPLEMENTED for a service this process does not serve', async () => {
    const { transport } = setUp();
    const error = (await createClient(Health, transport)
      .check({})
      .then(() => undefined, (e: unknown) => e)) as ConnectError;
    expect(error.code).to.equal(Code.Unimplemented);
  });

  it('serves streaming calls', async () => {
    const { transport } = setUp();
    const statuses: HealthCheckResponse_ServingStatus[] = [];
    for await (const message of createClient(Health, transport).watch({})) statuses.push(message.status);
    expect(statuses).to.deep.equal([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
  });
});
