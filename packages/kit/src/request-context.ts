import { createContextKey, type HandlerContext } from '@connectrpc/connect';

/** Who is calling, once the authentication interceptor has verified the credential. */
export interface Caller {
  userId: string;
  credential: 'access_token' | 'api_token';
  /** The API token's id when `credential` is `api_token`. */
  apiTokenId?: string;
  /** The `Authorization` header as received, forwarded on the caller's behalf to other services. */
  authorization: string;
}

/** The organization a tenant RPC acts on, and the caller's role in it. */
export interface Tenant {
  orgId: string;
  role: TenantRole;
}

export type TenantRole = 'owner' | 'admin' | 'member';

export const requestIdKey = createContextKey<string>('', { description: 'request id' });
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: 'verified caller' });
/** The Foundation service calling an ACCESS_INTERNAL RPC, from its verified service token. */
export const serviceCallerKey = createContextKey<string | undefined>(undefined, { description: 'calling service' });
export const tenantKey = createContextKey<Tenant | undefined>(undefined, { description: 'tenant of the request' });
/** Set when the request body failed to decode before any interceptor ran (see malformed-request.ts). */
export const malformedRequestKey = createContextKey<string | undefined>(undefined, {
  description: 'why the request body could not be decoded',
});
/** Set to the limit in bytes when the request message is larger than the server accepts (see malformed-request.ts). */
export const requestTooLargeKey = createContextKey<number | undefined>(undefined, {
  description: 'the read limit a request message exceeded',
});
/** The client's network address: the socket's peer, or the first X-Forwarded-For hop behind a trusted proxy. */
export const clientAddressKey = createContextKey<string>('', { description: 'client address' });

/** The caller of an RPC that the authentication interceptor admitted; a bug if there is none. */
export function requireCaller(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(callerKey);
  if (!caller) throw new Error(`${ctx.method.name} ran without a caller: is its access option ACCESS_PUBLIC?`);
  return caller;
}

/** The tenant of an ACCESS_TENANT RPC; a bug if there is none. */
export function requireTenant(ctx: HandlerContext): Tenant {
  const tenant = ctx.values.get(tenantKey);
  if (!tenant) throw new Error(`${ctx.method.name} ran without a tenant: is its access option ACCESS_TENANT?`);
  return tenant;
}

/** The calling service of an ACCESS_INTERNAL RPC, from its verified service token; a bug if there is none. */
export function requireServiceCaller(ctx: HandlerContext): string {
  const service = ctx.values.get(serviceCallerKey);
  if (!service) throw new Error(`${ctx.method.name} ran without a calling service: is its access option ACCESS_INTERNAL?`);
  return service;
}
