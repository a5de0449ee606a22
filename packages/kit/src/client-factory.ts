import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';

/**
 * Where a service is reached from another one: through this process's own server in memory (the
 * `--target=all` case), or over gRPC on HTTP/2 at a base URL (split mode, Kubernetes).
 */
export type ServiceLocation = { inProcess: Transport } | { baseUrl: string };

/** A typed client of `service` at `location`. Services call each other only through these. */
export function createServiceClient<S extends DescService>(service: S, location: ServiceLocation): Client<S> {
  const transport = 'inProcess' in location ? location.inProcess : createGrpcTransport({ baseUrl: location.baseUrl });
  return createClient(service, transport);
}

/**
 * A transport whose target is set later: a server's in-process transport exists only once the server is
 * built, and the server's interceptors already need clients of other services.
 */
export function createDeferredTransport(): { transport: Transport; resolve(target: Transport): void } {
  let target: Transport | undefined;
  const current = (): Transport => {
    if (!target) throw new Error('in-process transport used before the server was built');
    return target;
  };
  return {
    transport: {
      unary: (...args) => current().unary(...args),
      stream: (...args) => current().stream(...args),
    },
    resolve: (t) => {
      target = t;
    },
  };
}
