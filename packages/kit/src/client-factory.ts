import type { DescService } from '@bufbuild/protobuf';
import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SERVICE_TOKEN_HEADER, type ServiceTokenIssuer } from './service-identity.js';

/** Builds a transport that applies the given client interceptors to each call. */
export type TransportFactory = (interceptors: Interceptor[]) => Transport;

/**
 * Where a service is reached from another one: through this process's own server in memory (the
 * `--target=all` case), or over gRPC on HTTP/2 at a base URL (split mode, Kubernetes).
 */
export type ServiceLocation = { inProcess: TransportFactory } | { baseUrl: string };

/**
 * A typed client of `service` at `location` whose every call carries `identity`'s service token (audience:
 * that service). Services call each other only through these.
 */
export function createServiceClient<S extends DescService>(service: S, location: ServiceLocation, identity: ServiceTokenIssuer): Client<S> {
  const proveIdentity: Interceptor = (next) => async (req) => {
    req.header.set(SERVICE_TOKEN_HEADER, await identity.tokenFor(service.typeName));
    return next(req);
  };
  const interceptors = [proveIdentity];
  const transport = 'inProcess' in location ? location.inProcess(interceptors) : createGrpcTransport({ baseUrl: location.baseUrl, interceptors });
  return createClient(service, transport);
}

/**
 * A transport factory whose server is given later: a server's in-process transport exists only once the
 * server is built, and the server's interceptors already need clients of other services.
 */
export function createDeferredTransportFactory(): { factory: TransportFactory; resolve(server: TransportFactory): void } {
  let server: TransportFactory | undefined;
  const factory: TransportFactory = (interceptors) => {
    let transport: Transport | undefined;
    const current = (): Transport => {
      if (!server) throw new Error('in-process transport used before the server was built');
      return (transport ??= server(interceptors));
    };
    return {
      unary: (...args) => current().unary(...args),
      stream: (...args) => current().stream(...args),
    };
  };
  return {
    factory,
    resolve: (s) => {
      server = s;
    },
  };
}
