import { errors, jwtVerify, SignJWT } from 'jose';
import { TtlCache } from './ttl-cache.js';

/** The header that carries a service token, apart from the user's `Authorization`. */
export const SERVICE_TOKEN_HEADER = 'x-foundation-service-token';
const ALGORITHM = 'HS256';
const TOKEN_TYPE = 'svc+jwt';
const LIFETIME_S = 300;
/** A cached token is replaced this long before it expires, so none is sent about to lapse. */
const RENEW_BEFORE_S = 60;
export const SERVICE_KEY_MIN_BYTES = 32;

/**
 * Mints the short-lived tokens with which one service proves to another who is calling: an HS256 JWT
 * signed with the deployment's service key, `iss` = the calling service, `aud` = the called service's
 * full name. One token per audience is cached until shortly before it expires.
 */
export class ServiceTokenIssuer {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  constructor(
    private readonly key: Uint8Array,
    /** The calling service's target name, e.g. "org". */
    readonly caller: string,
    private readonly now: () => number = Date.now,
  ) {
    assertKeyLength(key);
  }

  async tokenFor(audience: string): Promise<string> {
    const cached = this.cache.get(audience);
    if (cached && cached.renewAt > this.now()) return cached.token;
    const issuedAt = Math.floor(this.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE })
      .setIssuer(this.caller)
      .setSubject(`service:${this.caller}`)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + LIFETIME_S)
      .sign(this.key);
    this.cache.set(audience, { token, renewAt: (issuedAt + LIFETIME_S - RENEW_BEFORE_S) * 1000 });
    return token;
  }
}

export class InvalidServiceTokenError extends Error {
  override readonly name = 'InvalidServiceTokenError';
}

/** Tokens one verifier remembers as checked, at most: each caller sends one per audience for minutes. */
const ACCEPTED_MAX = 256;

/**
 * Checks service tokens: signed with the service key, unexpired, and meant for `audience`. A calling
 * service sends the same token (ServiceTokenIssuer caches it) on every call for minutes, so a token found
 * valid is remembered by its exact text with its audience and expiry: until it expires, the same text for
 * the same audience is accepted without checking the signature again (an HMAC through WebCrypto on every
 * internal call, the brain's RecordTaskEvents for each batch of a node's events among them). Any other
 * text, a forged one included, is checked in full.
 */
export class ServiceTokenVerifier {
  /** Issuers by audience and token text. */
  private readonly accepted: TtlCache<string>;

  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {
    assertKeyLength(key);
    this.accepted = new TtlCache<string>(0, ACCEPTED_MAX, now);
  }

  /** The calling service's name; throws InvalidServiceTokenError otherwise. */
  async verify(token: string, audience: string): Promise<string> {
    const key = `${audience} ${token}`;
    const known = this.accepted.get(key);
    if (known !== undefined) return known;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        audience,
        requiredClaims: ['iss', 'exp'],
        currentDate: new Date(this.now()),
      });
      if (protectedHeader.typ !== TOKEN_TYPE) throw new InvalidServiceTokenError('not a service token');
      // Kept until `exp` is reached, when jose would refuse it as expired.
      this.accepted.set(key, payload.iss!, payload.exp! * 1000 - this.now());
      return payload.iss!;
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new InvalidServiceTokenError('the service token has expired');
      if (e instanceof errors.JWTClaimValidationFailed) throw new InvalidServiceTokenError(`the service token's "${e.claim}" does not fit this service`);
      if (e instanceof errors.JOSEError) throw new InvalidServiceTokenError('the service token is invalid');
      throw e;
    }
  }
}

function assertKeyLength(key: Uint8Array): void {
  if (key.length < SERVICE_KEY_MIN_BYTES) throw new Error(`the service key must be at least ${SERVICE_KEY_MIN_BYTES} bytes`);
}
