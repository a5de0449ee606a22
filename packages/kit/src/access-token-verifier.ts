import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { TtlCache } from './ttl-cache.js';

/** Claims every Foundation access token carries. */
export const ACCESS_TOKEN_ISSUER = 'foundation';
export const ACCESS_TOKEN_AUDIENCE = 'foundation-api';
export const ACCESS_TOKEN_ALGORITHM = 'ES256';

export interface AccessTokenVerifierOptions {
  /** Fetches the auth service's current JWK Set (GetJwks). */
  fetchJwks: () => Promise<JSONWebKeySet>;
  /** How long a fetched key set is trusted before it is fetched again. */
  maxAgeMs: number;
  /** The least time between two fetches caused by an unknown `kid`, so forged kids cannot flood the auth service. */
  refetchCooldownMs: number;
  now?: () => number;
}

/**
 * Verifies access tokens locally against the auth service's JWK Set. The set is cached; a token signed with
 * a `kid` the cache does not know triggers one refetch, which is how a rotated signing key is picked up
 * without restarts. Only ES256 is accepted, so `alg: none` and HMAC-with-the-public-key forgeries fail.
 */
export class AccessTokenVerifier {
  private keySet: { getKey: JWTVerifyGetKey; kids: Set<string>; fetchedAt: number } | undefined;
  private lastFetchAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly verified: TtlCache<string>;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.verified = new TtlCache<string>(options.maxAgeMs, 10_000, this.now);
  }

  /**
   * The user id (`sub`) of a valid token; throws `InvalidAccessTokenError` otherwise. A token that verified
   * is remembered until it expires, so a client's repeated calls cost a
   * lookup instead of an ECDSA verification — as Envoy's jwt_authn caches verified tokens. Access tokens
   * cannot be revoked anyway; their short lifetime is what bounds them.
   */
  async verify(token: string): Promise<string> {
    const known = this.verified.get(token);
    if (known !== undefined) return known;
    const kid = readKid(token);
    if (!this.keySet || this.now() - this.keySet.fetchedAt > this.options.maxAgeMs) await this.refresh();
    else if (!this.keySet.kids.has(kid) && this.now() - this.lastFetchAt >= this.options.refetchCooldownMs) await this.refresh();
    try {
      const { payload } = await jwtVerify(token, this.keySet!.getKey, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: ACCESS_TOKEN_ISSUER,
        audience: ACCESS_TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.now()),
      });
      this.verified.set(token, payload.sub!, payload.exp! * 1000 - this.now());
      return payload.sub!;
    } catch (e) {
      if (e instanceof errors.JOSEError) throw new InvalidAccessTokenError(describe(e));
      throw e;
    }
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        this.lastFetchAt = this.now();
        const jwks = await this.options.fetchJwks();
        this.keySet = {
          getKey: createLocalJWKSet(jwks),
          kids: new Set(jwks.keys.map((k) => k.kid ?? '')),
          fetchedAt: this.now(),
        };
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

export class InvalidAccessTokenError extends Error {
  override readonly name = 'InvalidAccessTokenError';
}

function readKid(token: string): string {
  const header = token.split('.')[0] ?? '';
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof parsed.kid === 'string' ? parsed.kid : '';
  } catch {
    throw new InvalidAccessTokenError('the access token is not a JWT');
  }
}

function describe(e: InstanceType<typeof errors.JOSEError>): string {
  if (e instanceof errors.JWTExpired) return 'the access token has expired; refresh it';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'the access token is not signed with ES256';
  if (e instanceof errors.JWKSNoMatchingKey) return 'the access token is signed by an unknown key';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'the access token signature is invalid';
  if (e instanceof errors.JWTClaimValidationFailed) return `the access token claim "${e.claim}" is invalid`;
  return 'the access token is malformed';
}
