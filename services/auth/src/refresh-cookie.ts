import { parse, serialize } from 'cookie';
import { AuthService } from '@foundation/contracts';

export const REFRESH_COOKIE = 'foundation_refresh';
/** Only the auth service's RPCs (Refresh, Logout) ever see the cookie. */
const COOKIE_PATH = `/${AuthService.typeName}/`;

/** The Set-Cookie value carrying a refresh token: HttpOnly, Secure, SameSite=Strict, narrow path. */
export function refreshCookie(token: string, maxAgeMs: number): string {
  return serialize(REFRESH_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: COOKIE_PATH,
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

/** The Set-Cookie value that deletes the refresh cookie. */
export function clearedRefreshCookie(): string {
  return serialize(REFRESH_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'strict', path: COOKIE_PATH, maxAge: 0 });
}

export function readRefreshCookie(cookieHeader: string | null): string | undefined {
  if (!cookieHeader) return undefined;
  return parse(cookieHeader)[REFRESH_COOKIE] || undefined;
}
