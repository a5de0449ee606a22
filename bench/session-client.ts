import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SessionService } from '@foundation/contracts';
import type { Caller } from './agent-messages.js';

/** SessionService over gRPC as an org member calls it: the client and the headers of every call. */
export function sessionClient(baseUrl: string, caller: Caller): { sessions: Client<typeof SessionService>; as: { headers: Record<string, string> } } {
  return {
    sessions: createClient(SessionService, createGrpcTransport({ baseUrl })),
    as: { headers: { authorization: `Bearer ${caller.accessToken}`, 'x-org-id': caller.orgId } },
  };
}
