import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  AccessGrantSchema,
  ApiTokenSchema,
  Role,
  UserSchema,
  type ApiToken as ApiTokenMessage,
  type AuthService,
  type AuthenticateApiTokenRequest,
  type CreateApiTokenRequest,
  type ListApiTokensRequest,
  type LoginRequest,
  type LookupUserRequest,
  type RevokeApiTokenRequest,
  type SignUpRequest,
  type User as UserMessage,
} from '@foundation/contracts';
import { assertValid, clientAddressKey, nameViolations, pageOf, readPage, requireCaller, roleToProto, rpcError, tenantKey, uuidViolations } from '@foundation/kit';
import { withSqlTransaction } from '@foundation/db';
import type pg from 'pg';
import type { AccessGrantValue, AccessTokenIssuer } from './access-token-issuer.js';
import { emailViolations, normalizeEmail, passwordViolations } from './account-fields.js';
import type { ApiTokenStore } from './api-token-store.js';
import type { ApiToken, User } from './records.js';
import { LoginRateLimitedError, type LoginRateLimiter } from './login-rate-limiter.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './password-hasher.js';
import { clearedRefreshCookie, readRefreshCookie, refreshCookie } from './refresh-cookie.js';
import { RefreshTokenInvalidError, type RefreshTokenStore } from './refresh-token-store.js';
import type { SigningKeyStore } from './signing-keys.js';
import { EmailTakenError, type UserStore } from './user-store.js';

export interface AuthServiceDeps {
  pool: pg.Pool;
  users: UserStore;
  accessTokens: AccessTokenIssuer;
  refreshTokens: RefreshTokenStore;
  apiTokens: ApiTokenStore;
  signingKeys: SigningKeyStore;
  loginRateLimiter: LoginRateLimiter;
  refreshTokenTtlMs: number;
}

const LOGIN_FAILED = 'the email or password is wrong';

export class AuthServiceImpl implements ServiceImpl<typeof AuthService> {
  constructor(private readonly deps: AuthServiceDeps) {}

  async signUp(req: SignUpRequest, ctx: HandlerContext) {
    const violations = [
      ...emailViolations('email', req.email),
      ...passwordViolations('password', req.password),
      ...nameViolations('display_name', req.displayName),
    ];
    assertValid(violations);
    const passwordHash = await hashPassword(req.password);
    // The account and its first refresh token commit together: a failed sign-up leaves no account behind.
    const { user, refreshToken } = await withSqlTransaction(this.deps.pool, async (tx) => {
      let user: User;
      try {
        user = await this.deps.users.create(tx, { email: normalizeEmail(req.email), displayName: req.displayName.trim(), passwordHash });
      } catch (e) {
        if (e instanceof EmailTakenError) {
          throw rpcError(Code.AlreadyExists, 'EMAIL_TAKEN', 'an account with this email already exists; log in instead', { field: 'email' });
        }
        throw e;
      }
      return { user, refreshToken: await this.deps.refreshTokens.issue(user.id, tx) };
    });
    return { user: userMessage(user), grant: await this.grantSession(user.id, refreshToken, ctx) };
  }

  async login(req: LoginRequest, ctx: HandlerContext) {
    const email = normalizeEmail(req.email);
    try {
      await this.deps.loginRateLimiter.consume(email, ctx.values.get(clientAddressKey));
    } catch (e) {
      if (e instanceof LoginRateLimitedError) {
        throw rpcError(Code.ResourceExhausted, 'RATE_LIMITED', e.message, { retry_after_seconds: String(Math.ceil(e.retryAfterMs / 1000)) });
      }
      throw e;
    }
    const account = email === '' ? undefined : await this.deps.users.findForLogin(email);
    // An unknown email still costs one verification, so timing does not tell which emails have accounts.
    const matches = await verifyPassword(account?.passwordHash ?? (await decoyPasswordHash), req.password);
    if (!account || !matches) throw rpcError(Code.Unauthenticated, 'LOGIN_FAILED', LOGIN_FAILED);
    await this.deps.loginRateLimiter.succeeded(email);
    return { user: userMessage(account.user), grant: await this.startSession(account.user.id, ctx) };
  }

  async refresh(_req: unknown, ctx: HandlerContext) {
    const token = readRefreshCookie(ctx.requestHeader.get('cookie'));
    if (!token) throw rpcError(Code.Unauthenticated, 'REFRESH_INVALID', 'no refresh cookie was sent; log in');
    try {
      const rotated = await this.deps.refreshTokens.rotate(token);
      ctx.responseHeader.append('set-cookie', refreshCookie(rotated.token, this.deps.refreshTokenTtlMs));
      return { grant: grantMessage(await this.deps.accessTokens.issue(rotated.userId)) };
    } catch (e) {
      if (e instanceof RefreshTokenInvalidError) {
        ctx.responseHeader.append('set-cookie', clearedRefreshCookie());
        throw rpcError(Code.Unauthenticated, 'REFRESH_INVALID', e.message);
      }
      throw e;
    }
  }

  async logout(_req: unknown, ctx: HandlerContext) {
    const token = readRefreshCookie(ctx.requestHeader.get('cookie'));
    if (token) await this.deps.refreshTokens.revokeFamily(token);
    ctx.responseHeader.append('set-cookie', clearedRefreshCookie());
    return {};
  }

  async getMe(_req: unknown, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    const user = await this.deps.users.read(caller.userId);
    if (!user) throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'the account of this credential no longer exists');
    const tenant = ctx.values.get(tenantKey);
    return { user: userMessage(user), orgRole: tenant ? roleToProto(tenant.role) : Role.UNSPECIFIED };
  }

  async getJwks() {
    return { jwksJson: JSON.stringify(await this.deps.signingKeys.jwks()) };
  }

  async createApiToken(req: CreateApiTokenRequest, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    const expiresAt = req.expiresAt && timestampDate(req.expiresAt);
    const violations = nameViolations('name', req.name);
    if (expiresAt && expiresAt.getTime() <= Date.now()) violations.push({ field: 'expires_at', description: 'must be in the future' });
    assertValid(violations);
    const { apiToken, token } = await this.deps.apiTokens.create(caller.userId, req.name.trim(), expiresAt);
    return { apiToken: apiTokenMessage(apiToken), token };
  }

  async listApiTokens(req: ListApiTokensRequest, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    const window = readPage(req.page);
    const page = pageOf(await this.deps.apiTokens.list(caller.userId, window), window, (t) => ({ key: t.id, id: t.id }));
    return { apiTokens: page.items.map(apiTokenMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async revokeApiToken(req: RevokeApiTokenRequest, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    const violations = uuidViolations('id', req.id);
    assertValid(violations);
    if (!(await this.deps.apiTokens.revoke(caller.userId, req.id))) {
      throw rpcError(Code.NotFound, 'NOT_FOUND', `you have no API token with id ${req.id}`);
    }
    return {};
  }

  async authenticateApiToken(req: AuthenticateApiTokenRequest) {
    const apiToken = await this.deps.apiTokens.authenticate(req.token);
    if (!apiToken) throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'the API token is unknown, expired or revoked');
    return { userId: apiToken.userId, tokenId: apiToken.id };
  }

  async lookupUser(req: LookupUserRequest) {
    const violations = emailViolations('email', req.email);
    assertValid(violations);
    const user = await this.deps.users.findByEmail(normalizeEmail(req.email));
    if (!user) throw rpcError(Code.NotFound, 'NOT_FOUND', `no account has the email ${normalizeEmail(req.email)}; ask them to sign up first`);
    return { user: userMessage(user) };
  }

  /** A new refresh family in the cookie and an access token in the body. */
  private async startSession(userId: string, ctx: HandlerContext) {
    return this.grantSession(userId, await this.deps.refreshTokens.issue(userId), ctx);
  }

  private async grantSession(userId: string, refreshToken: string, ctx: HandlerContext) {
    ctx.responseHeader.append('set-cookie', refreshCookie(refreshToken, this.deps.refreshTokenTtlMs));
    return grantMessage(await this.deps.accessTokens.issue(userId));
  }
}

function userMessage(user: User): UserMessage {
  return create(UserSchema, { id: user.id, email: user.email, displayName: user.displayName, createTime: timestampFromDate(user.createdAt) });
}

function grantMessage(grant: AccessGrantValue) {
  return create(AccessGrantSchema, { accessToken: grant.accessToken, accessTokenExpiresAt: timestampFromDate(grant.expiresAt) });
}

function apiTokenMessage(t: ApiToken): ApiTokenMessage {
  return create(ApiTokenSchema, {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    createTime: timestampFromDate(t.createdAt),
    expireTime: t.expiresAt ? timestampFromDate(t.expiresAt) : undefined,
    revokeTime: t.revokedAt ? timestampFromDate(t.revokedAt) : undefined,
  });
}
