import type { Interceptor, Transport } from '@connectrpc/connect';
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node';

/** A transport and the HTTP/2 connection under it, closed together when a connection attempt ends. */
export interface PlatformTransport {
  transport: Transport;
  close(): void;
}

export interface PlatformTransportOptions {
  /** The server's base URL: `https://…` speaks gRPC over TLS, `http://…` gRPC over cleartext HTTP/2 (h2c). */
  server: string;
  /** The node credential, sent as `Authorization: Bearer …` on every call. */
  credential?: string;
}

/**
 * gRPC over HTTP/2 to the Foundation server (Envoy routes it; the brain's bidi stream needs HTTP/2). Pings
 * keep a half-open connection (a laptop whose Wi-Fi dropped) from looking alive: the stream errors within
 * about 25 s and the daemon reconnects.
 */
export function createPlatformTransport(options: PlatformTransportOptions): PlatformTransport {
  const sessionManager = new Http2SessionManager(options.server, {
    pingIntervalMs: 15_000,
    pingTimeoutMs: 10_000,
    pingIdleConnection: true,
  });
  const interceptors: Interceptor[] = [];
  if (options.credential !== undefined) interceptors.push(bearerCredential(options.credential));
  const transport = createGrpcTransport({ baseUrl: options.server, sessionManager, interceptors });
  return { transport, close: () => sessionManager.abort() };
}

function bearerCredential(credential: string): Interceptor {
  return (next) => (request) => {
    request.header.set('authorization', `Bearer ${credential}`);
    return next(request);
  };
}
