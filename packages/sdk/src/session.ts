import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { AccessGrant } from '@foundation/contracts';

const REFRESH_COOKIE = /(?:^|,\s*)foundation_refresh=([^;,]*)/;

/**
 * What a client holds for its user: an access token with its expiry, the refresh token the server set
 * as a cookie (a program is its own cookie jar), or an API token, and the organization it works in.
 */
export class ClientSession {
  accessToken: string | undefined;
  accessTokenExpiresAt: Date | undefined;
  refreshToken: string | undefined;
  orgId: string | undefined;

  constructor(readonly apiToken?: string) {}

  get bearer(): string | undefined {
    return this.apiToken ?? this.accessToken;
  }

  accept(grant: AccessGrant | undefined): void {
    if (!grant) return;
    this.accessToken = grant.accessToken;
    this.accessTokenExpiresAt = grant.accessTokenExpiresAt && timestampDate(grant.accessTokenExpiresAt);
  }

  /** Keeps the refresh token of a Set-Cookie header; an emptied cookie (logout, reuse) clears it. */
  acceptSetCookie(setCookie: string | null): void {
    const match = setCookie ? REFRESH_COOKIE.exec(setCookie) : null;
    if (match) this.refreshToken = match[1] || undefined;
  }

  /** A refresh token can replace the access token (API tokens are never refreshed). */
  canRefresh(): boolean {
    return !this.apiToken && this.refreshToken !== undefined;
  }

  /** True when the access token expires within `marginMs` and can be refreshed. */
  shouldRefresh(now: number, marginMs: number): boolean {
    if (!this.canRefresh()) return false;
    return !this.accessTokenExpiresAt || this.accessTokenExpiresAt.getTime() - now < marginMs;
  }

  clear(): void {
    this.accessToken = undefined;
    this.accessTokenExpiresAt = undefined;
    this.refreshToken = undefined;
  }
}
