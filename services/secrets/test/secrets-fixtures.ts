import { randomBytes, randomUUID } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SecretsService, type ResolveSecretResponse } from '@foundation/contracts';
import { SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import type { TestPlatform } from '@foundation/testing';

/** A value no other test uses, easy to search for in logs, responses and the database. */
export function uniqueValue(label = 'value'): string {
  return `plaintext-${label}-${randomBytes(12).toString('hex')}`;
}

/** Resolves secrets the way connector actions do: as the `service` (execution) over gRPC, with a service token. */
export type Resolve = (orgId: string, name: string, runId?: string) => Promise<ResolveSecretResponse>;

export function resolverOf(platform: TestPlatform, service = 'execution'): Resolve {
  const client = createClient(SecretsService, createGrpcTransport({ baseUrl: platform.baseUrl }));
  const issuer = new ServiceTokenIssuer(platform.serviceKey, service);
  return async (orgId, name, runId = randomUUID()) => {
    const token = await issuer.tokenFor(SecretsService.typeName);
    return client.resolveSecret({ orgId, name, runId }, { headers: { [SERVICE_TOKEN_HEADER]: token } });
  };
}

/** The platform's log lines at level error, parsed. */
export function errorLogLines(platform: TestPlatform): Record<string, unknown>[] {
  return platform.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 50);
}
