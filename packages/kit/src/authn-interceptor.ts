import { createHash } from 'node:crypto';
import { Code, type Interceptor } from '@connectrpc/connect';
import { Access } from '@foundation/contracts';
import { InvalidAccessTokenError, type AccessTokenVerifier } from './access-token-verifier.js';
import { methodAccess } from './method-access.js';
import { callerKey, type Caller } from './request-context.js';
import { rpcError } from './rpc-error.js';
import { TtlCache } from './ttl-cache.js';

/** API tokens start with this, so a service can tell them from JWTs without trying both. */
export const API_TOKEN_PREFIX = 'fdn_';

export interface ApiTokenIdentity {
  userId: string;
  tokenId: string;
}

export interface AuthnInterceptorOptions {
  accessTokens: AccessTokenVerifier;
  /** Asks the auth service who an API token belongs to; rejects with UNAUTHENTICATED for a bad token. */
  authenticateApiToken: (token: string) => Promise<ApiTokenIdentity>;
  /** How long an API token's identity is reused before asking again; a revocation takes effect within it. */
  apiTokenCacheTtlMs: number;
}

/**
 * Verifies the `Authorization: Bearer` credential of every RPC that is not ACCESS_PUBLIC and puts the
 * caller in the context. Access tokens are verified locally (JWKS); API tokens are asked of the auth
 * service and cached briefly.
 */
export function createAuthnInterceptor(options: AuthnInterceptorOptions): Interceptor {
  const apiTokenCache = new TtlCache<ApiTokenIdentity>(options.apiTokenCacheTtlMs);

  const identify = async (authorization: string): Promise<Caller> => {
    const match = /^Bearer ([^\s]+)$/.exec(authorization);
    if (!match) {
      throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'the Authorization header must be "Bearer <token>"');
    }
    const token = match[1]!;
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const key = createHash('sha256').update(token).digest('base64url');
      let identity = apiTokenCache.get(key);
      if (!identity) {
        identity = await options.authenticateApiToken(token);
        apiTokenCache.set(key, identity);
      }
      return { userId: identity.userId, credential: 'api_token', apiTokenId: identity.tokenId, authorization };
    }
    try {
      const userId = await options.accessTokens.verify(token);
      return { userId, credential: 'access_token', authorization };
    } catch (e) {
      if (e instanceof InvalidAccessTokenError) throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', e.message);
      throw e;
    }
  };

  return (next) => async (req) => {
    if (methodAccess(req.method) === Access.PUBLIC) return next(req);
    const authorization = req.header.get('authorization');
    if (!authorization) {
      throw rpcError(
        Code.Unauthenticated,
        'CREDENTIAL_MISSING',
        `${req.method.name} needs a credential: send "Authorization: Bearer <access token or API token>"`,
      );
    }
    req.contextValues.set(callerKey, await identify(authorization));
    return next(req);
  };
}
