import type { Client } from '@connectrpc/connect';
import { AuthService, OrgService } from '@foundation/contracts';
import { ConfigError, createServiceClient, type ServiceLocation, type ServiceTokenIssuer, type TransportFactory } from '@foundation/kit';
import type { FoundationConfig } from './config.js';
import type { Target } from './targets.js';

export interface ServiceClients {
  auth: Client<typeof AuthService>;
  org: Client<typeof OrgService>;
}

/**
 * Clients of other services for one calling service (`identity`): in-process for services this process
 * runs, gRPC to FOUNDATION_<SERVICE>_URL for the others (a missing URL is a configuration error naming the
 * variable).
 */
export function createServiceClients(
  config: FoundationConfig,
  targets: ReadonlySet<Target>,
  inProcess: TransportFactory,
  identity: ServiceTokenIssuer,
): ServiceClients {
  const locate = (target: Target, variable: 'FOUNDATION_AUTH_URL' | 'FOUNDATION_ORG_URL'): ServiceLocation => {
    if (targets.has(target)) return { inProcess };
    const baseUrl = config[variable];
    if (!baseUrl) throw new ConfigError(`this process does not run the ${target} service: set ${variable} to where it runs`);
    return { baseUrl };
  };
  return {
    auth: createServiceClient(AuthService, locate('auth', 'FOUNDATION_AUTH_URL'), identity),
    org: createServiceClient(OrgService, locate('org', 'FOUNDATION_ORG_URL'), identity),
  };
}
