import { AuthService } from '@foundation/contracts';
import { createSqlPool, querySql } from '@foundation/db';
import type { ServiceModule } from '@foundation/kit';
import type { Redis } from 'ioredis';
import { AccessTokenIssuer } from './access-token-issuer.js';
import { ApiTokenStore } from './api-token-store.js';
import { AuthServiceImpl } from './auth-service.js';
import { LoginRateLimiter, type LoginRateLimitOptions } from './login-rate-limiter.js';
import { RefreshTokenStore } from './refresh-token-store.js';
import { SigningKeyStore } from './signing-keys.js';
import { UserStore } from './user-store.js';

export interface AuthModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  redis: Redis;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  loginRateLimit: LoginRateLimitOptions;
}

export interface AuthModule extends ServiceModule {
  /** Exposed for operators' commands and tests that rotate keys. */
  readonly signingKeys: SigningKeyStore;
}

export async function createAuthModule(options: AuthModuleOptions): Promise<AuthModule> {
  const pool = createSqlPool(options.databaseUrl, options.databasePoolMax);
  const signingKeys = new SigningKeyStore(pool);
  try {
    await signingKeys.activeKey();
  } catch (e) {
    await pool.end();
    throw e;
  }
  const impl = new AuthServiceImpl({
    pool,
    users: new UserStore(pool),
    signingKeys,
    accessTokens: new AccessTokenIssuer(signingKeys, options.accessTokenTtlMs),
    refreshTokens: new RefreshTokenStore(pool, options.refreshTokenTtlMs),
    apiTokens: new ApiTokenStore(pool),
    loginRateLimiter: new LoginRateLimiter(options.redis, options.loginRateLimit),
    refreshTokenTtlMs: options.refreshTokenTtlMs,
  });
  return {
    name: 'auth',
    serviceNames: [AuthService.typeName],
    signingKeys,
    registerRpc: (router) => router.service(AuthService, impl),
    registerHttp: (app) => {
      app.get('/.well-known/jwks.json', (_req, res, next) => {
        signingKeys.jwks().then((jwks) => res.set('cache-control', 'public, max-age=60').json(jwks), next);
      });
    },
    checkReady: async () => {
      await querySql(pool, 'select 1');
      await options.redis.ping();
    },
    close: () => pool.end(),
  };
}
