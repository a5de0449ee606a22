import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { AuthService, OrgService } from '@foundation/contracts';
import { ConfigError } from '@foundation/kit';
import type { FoundationConfig } from './config.js';
import type { Target } from './targets.js';

export interface ServiceClients {
  auth: Client<typeof AuthService>;
  org: Client<typeof OrgService>;
}

/**
 * Clients of the services a process needs: in-process (through this server's own routes and
 * interceptors) for services it runs, gRPC over HTTP/2 to FOUNDATION_<SERVICE>_URL for the others.
 */
export function createServiceClients(config: FoundationConfig, targets: ReadonlySet<Target>, inProcess: Transport): ServiceClients {
  const transportFor = (target: Target, variable: 'FOUNDATION_AUTH_URL' | 'FOUNDATION_ORG_URL'): Transport => {
    if (targets.has(target)) return inProcess;
    const baseUrl = config[variable];
    if (!baseUrl) throw new ConfigError(`this process does not run the ${target} service: set ${variable} to where it runs`);
    return createGrpcTransport({ baseUrl });
  };
  return {
    auth: createClient(AuthService, transportFor('auth', 'FOUNDATION_AUTH_URL')),
    org: createClient(OrgService, transportFor('org', 'FOUNDATION_ORG_URL')),
  };
}

/**
 * A transport whose target is set later: the server's in-process transport exists only once the server
 * is built, and the server's interceptors already need clients.
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
