import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@foundation/kit';
import { SignJWT } from 'jose';
import type { SigningKeyStore } from './signing-keys.js';

export interface AccessGrantValue {
  accessToken: string;
  expiresAt: Date;
}

/** Signs the short-lived access tokens every service verifies locally. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(userId: string): Promise<AccessGrantValue> {
    const key = await this.keys.activeKey();
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = new Date((issuedAt + Math.floor(this.ttlMs / 1000)) * 1000);
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: key.kid, typ: 'at+jwt' })
      .setSubject(userId)
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(key.privateKey);
    return { accessToken, expiresAt };
  }
}
