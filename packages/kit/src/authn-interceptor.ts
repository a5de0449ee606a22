import { createHash } from 'node:crypto';
import { getOption } from '@bufbuild/protobuf';
import { Code, type Interceptor, type UnaryRequest, type StreamRequest } from '@connectrpc/connect';
import { Access, internal_callers } from '@foundation/contracts';
import { InvalidAccessTokenError, type AccessTokenVerifier } from './access-token-verifier.js';
import { methodAccess } from './method-access.js';
import { callerKey, serviceCallerKey, type Caller } from './request-context.js';
import { rpcError } from './rpc-error.js';
import { InvalidServiceTokenError, SERVICE_TOKEN_HEADER, type ServiceTokenVerifier } from './service-identity.js';
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
  /** Checks the service tokens ACCESS_INTERNAL RPCs require. */
  serviceTokens: ServiceTokenVerifier;
}

/**
 * Verifies the `Authorization: Bearer` credential of every RPC that is not ACCESS_PUBLIC and puts the
 * caller in the context. Access tokens are verified locally (JWKS); API tokens are asked of the auth
 * service and cached briefly. ACCESS_INTERNAL RPCs instead need a service token from a service the RPC
 * admits (`internal_callers`); user and API tokens never open them.
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
      const identity = await apiTokenCache.getOrLoad(key, () => options.authenticateApiToken(token));
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

  const identifyService = async (req: UnaryRequest | StreamRequest): Promise<string> => {
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const token = req.header.get(SERVICE_TOKEN_HEADER);
    if (!token) {
      throw rpcError(Code.PermissionDenied, 'INTERNAL_ONLY', `${rpc} is internal to Foundation services and accepts no user or API token`);
    }
    let service: string;
    try {
      service = await options.serviceTokens.verify(token, req.service.typeName);
    } catch (e) {
      if (e instanceof InvalidServiceTokenError) throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', e.message);
      throw e;
    }
    const admitted = getOption(req.method, internal_callers);
    if (admitted.length > 0 && !admitted.includes(service)) {
      throw rpcError(Code.PermissionDenied, 'INTERNAL_ONLY', `the ${service} service may not call ${rpc}`);
    }
    return service;
  };

  return (next) => async (req) => {
    const access = methodAccess(req.method);
    // A node's credential is the brain's to verify: only its executor registry knows it.
    if (access === Access.PUBLIC || access === Access.NODE) return next(req);
    if (access === Access.INTERNAL) {
      req.contextValues.set(serviceCallerKey, await identifyService(req));
      return next(req);
    }
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
