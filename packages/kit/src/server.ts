import { setMaxListeners } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { Code, ConnectError, createContextValues, type ConnectRouter, type ContextValues, type Interceptor, type Transport } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import express from 'express';
import type { Logger } from './logger.js';
import { HealthState, registerHealthService } from './health.js';
import { GrpcBidiStreams } from './grpc-bidi-streams.js';
import { createDualProtocolHttpHandler } from './http-app.js';
import { createInProcessTransport } from './in-process-transport.js';
import { rejectMalformedUnaryBodies } from './malformed-request.js';
import { assertAccessDeclared } from './method-access.js';
import { ProtocolSniffingListener } from './protocol-sniffing-listener.js';
import { clientAddressKey } from './request-context.js';
import { createRequestInterceptor } from './request-interceptor.js';
import type { RpcMetrics } from './rpc-metrics.js';
import type { ServiceModule } from './service-module.js';

/**
 * Responses smaller than this go out uncompressed even to a client that accepts gzip (connect-node's
 * default is 1 KiB). Our clients reach the server over loopback or a LAN (Envoy, the in-cluster
 * services), where gzip of a small message costs more CPU than the bytes it saves: WatchSession's events
 * (about 1 KB each) spent 12 % of the server's busy time in zlib. Large list pages are still compressed.
 */
const COMPRESS_MIN_BYTES = 64 * 1024;

export interface FoundationServerOptions {
  modules: ServiceModule[];
  /** Interceptors after the request interceptor, in order: authentication, then tenancy. */
  interceptors: Interceptor[];
  log: Logger;
  metrics: RpcMetrics;
  /** Largest request message accepted; larger is RESOURCE_EXHAUSTED. */
  readMaxBytes: number;
  /** How long shutdown waits for in-flight calls before closing connections. */
  shutdownGraceMs: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it, such as Envoy). */
  trustForwardedFor: boolean;
}

/**
 * The server of every target: one port for gRPC (HTTP/2 cleartext), gRPC-Web and Connect (HTTP/1.1 and
 * HTTP/2), with express serving what is not RPC (/healthz, /readyz, /metrics, module routes) as the
 * Connect adapter's fallback. Built without listening, so tests start the very same server on port 0.
 */
export class FoundationServer {
  readonly health: HealthState;
  private readonly shutdown = new AbortController();
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly listener: ProtocolSniffingListener;
  private readonly routes: (router: ConnectRouter) => void;
  private readonly allInterceptors: Interceptor[];

  constructor(private readonly options: FoundationServerOptions) {
    const serviceNames = options.modules.flatMap((m) => m.serviceNames);
    this.health = new HealthState(serviceNames, async () => {
      await Promise.all(options.modules.map((m) => m.checkReady?.()));
    });
    // Every in-flight call links its own signal to the shutdown signal, so past ten concurrent calls Node
    // would warn of a listener leak that is none; each call removes its listener when it ends.
    setMaxListeners(0, this.shutdown.signal);
    this.allInterceptors = [createRequestInterceptor(options.log, options.metrics), ...options.interceptors];
    this.routes = (router) => {
      registerHealthService(router, this.health);
      for (const module of options.modules) module.registerRpc(router);
      for (const handler of router.handlers) assertAccessDeclared(handler.method);
    };
    // Connect over JSON decodes with a strict decoder so invalid UTF-8 is INVALID_ARGUMENT, not U+FFFD.
    const jsonOptions = { textDecoder: new TextDecoder('utf-8', { fatal: true }) } as object;
    const adapter = connectNodeAdapter({
      routes: (router) => {
        this.routes(router);
        rejectMalformedUnaryBodies(router, options.readMaxBytes);
      },
      interceptors: this.allInterceptors,
      readMaxBytes: options.readMaxBytes,
      compressMinBytes: COMPRESS_MIN_BYTES,
      jsonOptions,
      shutdownSignal: this.shutdown.signal,
      contextValues: (req) => contextValuesOf(req.headers, req.socket.remoteAddress, options.trustForwardedFor),
      fallback: createDualProtocolHttpHandler(this.createHttpRouter()),
    });
    this.h1 = http.createServer(adapter);
    this.h1.keepAliveTimeout = 65_000;
    this.h2 = http2.createServer({}, adapter);
    const grpcStreams = options.modules.flatMap((m) => m.grpcStreams ?? []);
    if (grpcStreams.length > 0) {
      new GrpcBidiStreams({
        routes: grpcStreams,
        interceptors: this.allInterceptors,
        readMaxBytes: options.readMaxBytes,
        compressMinBytes: COMPRESS_MIN_BYTES,
        shutdownSignal: this.shutdown.signal,
        contextValues: (headers, remoteAddress) => contextValuesOf(headers, remoteAddress, options.trustForwardedFor),
      }).attachTo(this.h2);
    }
    this.listener = new ProtocolSniffingListener(this.h1, this.h2);
  }

  /**
   * A transport that runs calls through this server's routes and interceptors in memory, for services of
   * the same process in `--target=all`; `interceptors` act on the client side, as they would on a network
   * transport.
   */
  inProcessTransport(interceptors: Interceptor[] = []): Transport {
    return createInProcessTransport({
      routes: this.routes,
      serverInterceptors: this.allInterceptors,
      clientInterceptors: interceptors,
      shutdownSignal: this.shutdown.signal,
    });
  }

  async listen(port: number, host: string): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.listener.server.once('error', reject);
      this.listener.server.listen(port, host, () => {
        this.listener.server.off('error', reject);
        resolve();
      });
    });
    this.health.setServing(true);
    for (const module of this.options.modules) module.start?.();
    return this.listener.server.address() as net.AddressInfo;
  }

  /**
   * Graceful stop: report not-ready, stop accepting, tell HTTP/2 clients to go away, end streaming calls,
   * wait for in-flight calls up to the grace period, then close what remains and release the modules, in reverse
   * order of their construction.
   */
  async close(): Promise<void> {
    this.health.setServing(false);
    this.shutdown.abort(new ConnectError('the server is shutting down; retry on another instance', Code.Unavailable));
    const drained = this.listener.close();
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.options.shutdownGraceMs, 'timeout').unref());
    if ((await Promise.race([drained, grace])) === 'timeout') {
      this.options.log.warn({ graceMs: this.options.shutdownGraceMs }, 'in-flight calls outlived the grace period; closing');
      this.listener.destroyAll();
      await drained;
    }
    // Last built, first released: a module may use one built before it (the worker reports to the workflow service).
    for (const module of [...this.options.modules].reverse()) await module.close?.();
  }


  private createHttpRouter(): express.Router {
    const router = express.Router();
    router.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    router.get('/readyz', (_req, res) => {
      this.health.assertReady().then(
        () => res.json({ status: 'ready' }),
        (e: unknown) => res.status(503).json({ status: 'not ready', reason: (e as Error).message }),
      );
    });
    router.get('/metrics', (_req, res) => {
      this.options.metrics.registry.metrics().then((text) => res.type(this.options.metrics.registry.contentType).send(text));
    });
    for (const module of this.options.modules) module.registerHttp?.(router);
    router.use((req, res) => {
      res.status(404).json({ code: 'not_found', message: `no route for ${req.method} ${req.path}` });
    });
    // Express would answer a thrown error with an HTML page carrying the stack trace.
    router.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      this.options.log.error({ err: error, path: req.path }, 'unexpected error in an HTTP route');
      res.status(500).json({ code: 'internal', message: 'internal error' });
    });
    return router;
  }
}


function contextValuesOf(headers: http.IncomingHttpHeaders, remoteAddress: string | undefined, trustForwardedFor: boolean): ContextValues {
  const forwarded = trustForwardedFor ? headers['x-forwarded-for'] : undefined;
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return createContextValues().set(clientAddressKey, first || remoteAddress || '');
}
