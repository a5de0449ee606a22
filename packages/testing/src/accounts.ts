import { randomUUID } from 'node:crypto';
import type { PlatformClients } from './test-platform.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface TestAccount {
  userId: string;
  email: string;
  accessToken: string;
  /** The refresh token from the Set-Cookie of sign-up. */
  refreshToken: string;
  /** Call options that authenticate as this account. */
  as: { headers: { authorization: string } };
}

/** Signs up a new account with a unique email. */
export async function signUp(clients: PlatformClients, displayName = 'Test User'): Promise<TestAccount> {
  const email = `user-${randomUUID()}@example.com`;
  let setCookie = '';
  const res = await clients.auth.signUp(
    { email, password: TEST_PASSWORD, displayName },
    { onHeader: (h) => (setCookie = h.get('set-cookie') ?? '') },
  );
  const accessToken = res.grant!.accessToken;
  return {
    userId: res.user!.id,
    email,
    accessToken,
    refreshToken: /foundation_refresh=([^;]+)/.exec(setCookie)?.[1] ?? '',
    as: { headers: { authorization: `Bearer ${accessToken}` } },
  };
}

/** Call options for a tenant RPC: the account's credential plus X-Org-Id. */
export function inOrg(account: TestAccount, orgId: string) {
  return { headers: { ...account.as.headers, 'x-org-id': orgId } };
}
