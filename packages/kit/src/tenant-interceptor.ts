import { Code, type Interceptor } from '@connectrpc/connect';
import { Access } from '@foundation/contracts';
import { methodAccess } from './method-access.js';
import { callerKey, tenantKey, type Caller, type TenantRole } from './request-context.js';
import { isUuid } from './field-rules.js';
import { rpcError } from './rpc-error.js';
import { TtlCache } from './ttl-cache.js';

export const ORG_HEADER = 'x-org-id';


export interface TenantInterceptorOptions {
  /** Asks the org service for the caller's role; rejects with PERMISSION_DENIED when not a member. */
  checkMembership: (caller: Caller, orgId: string) => Promise<TenantRole>;
  /** How long a membership answer is reused; a removal takes effect within it. */
  membershipCacheTtlMs: number;
}

/**
 * The front door of tenancy: an ACCESS_TENANT RPC needs an `X-Org-Id` header naming an organization the
 * caller belongs to, and runs with that tenant in its context. An authenticated RPC that sends the header
 * gets it checked too. Row-level security in the database is the backstop behind this.
 */
export function createTenantInterceptor(options: TenantInterceptorOptions): Interceptor {
  const memberships = new TtlCache<TenantRole>(options.membershipCacheTtlMs);

  return (next) => async (req) => {
    const access = methodAccess(req.method);
    const orgId = req.header.get(ORG_HEADER);
    if (access !== Access.TENANT && !(access === Access.AUTHENTICATED && orgId)) return next(req);
    if (!orgId) {
      throw rpcError(Code.PermissionDenied, 'ORG_REQUIRED', `${req.method.name} acts on an organization: send its id in the X-Org-Id header`);
    }
    if (!isUuid(orgId)) {
      throw rpcError(Code.InvalidArgument, 'INVALID_FIELD', 'the X-Org-Id header must be an organization id (a UUID)', { field: 'X-Org-Id' });
    }
    const caller = req.contextValues.get(callerKey);
    if (!caller) throw new Error('tenant interceptor ran before authentication');
    const org = orgId.toLowerCase();
    // Requests in flight when an entry expires share one lookup (see TtlCache.getOrLoad).
    const role = await memberships.getOrLoad(`${caller.userId}/${org}`, () => options.checkMembership(caller, org));
    req.contextValues.set(tenantKey, { orgId: org, role });
    return next(req);
  };
}
