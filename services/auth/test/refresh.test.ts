import { Code } from '@connectrpc/connect';
import { expectRpcError, signUp, startTestPlatform, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

/** Calls Refresh with a refresh token as the cookie; returns the response and the rotated token. */
async function refreshWith(platform: TestPlatform, refreshToken: string) {
  let setCookie = '';
  const res = await platform.grpc.auth.refresh(
    {},
    { headers: { cookie: `foundation_refresh=${refreshToken}` }, onHeader: (h) => (setCookie = h.get('set-cookie') ?? '') },
  );
  return { res, setCookie, rotated: /foundation_refresh=([^;]+)/.exec(setCookie)?.[1] ?? '' };
}

describe('AuthService', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  describe('Refresh()', () => {
    it('sets the refresh cookie HttpOnly, Secure, SameSite=Strict on the auth service path only', async () => {
      let setCookie = '';
      await platform.grpc.auth.signUp(
        { email: `cookie-${Date.now()}@example.com`, password: 'correct horse battery', displayName: 'Cookie' },
        { onHeader: (h) => (setCookie = h.get('set-cookie') ?? '') },
      );
      const attributes = setCookie.split(';').map((a) => a.trim());
      expect(attributes[0]).to.match(/^foundation_refresh=fdr_[A-Za-z0-9_-]{43}$/);
      expect(attributes).to.include.members(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/foundation.auth.v1.AuthService/']);
    });

    it('exchanges the cookie for a new access token and a rotated cookie', async () => {
      const account = await signUp(platform.grpc);
      const { res, rotated } = await refreshWith(platform, account.refreshToken);
      expect(rotated).to.match(/^fdr_/).and.not.equal(account.refreshToken);
      const me = await platform.grpc.auth.getMe({}, { headers: { authorization: `Bearer ${res.grant!.accessToken}` } });
      expect(me.user?.id).to.equal(account.userId);
      await refreshWith(platform, rotated);
    });

    it('revokes the whole family when a rotated token is reused', async () => {
      const account = await signUp(platform.grpc);
      const first = await refreshWith(platform, account.refreshToken);
      await expectRpcError(refreshWith(platform, account.refreshToken), Code.Unauthenticated, 'REFRESH_INVALID');
      // The legitimate holder's newer token died with its family.
      await expectRpcError(refreshWith(platform, first.rotated), Code.Unauthenticated, 'REFRESH_INVALID');
    });

    it('lets only one of two concurrent uses of a token win', async () => {
      const account = await signUp(platform.grpc);
      const outcomes = await Promise.allSettled([refreshWith(platform, account.refreshToken), refreshWith(platform, account.refreshToken)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(1);
    });

    it('refuses a missing or unknown cookie', async () => {
      await expectRpcError(platform.grpc.auth.refresh({}), Code.Unauthenticated, 'REFRESH_INVALID');
      await expectRpcError(refreshWith(platform, 'fdr_not-a-real-token'), Code.Unauthenticated, 'REFRESH_INVALID');
    });
  });

  describe('Logout()', () => {
    it('revokes the refresh family and clears the cookie', async () => {
      const account = await signUp(platform.grpc);
      let setCookie = '';
      await platform.grpc.auth.logout(
        {},
        { headers: { cookie: `foundation_refresh=${account.refreshToken}` }, onHeader: (h) => (setCookie = h.get('set-cookie') ?? '') },
      );
      expect(setCookie).to.match(/^foundation_refresh=;/).and.contain('Max-Age=0');
      await expectRpcError(refreshWith(platform, account.refreshToken), Code.Unauthenticated, 'REFRESH_INVALID');
    });

    it('succeeds without a cookie', async () => {
      await platform.grpc.auth.logout({});
    });
  });
});

describe('AuthService with short token lifetimes', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_REFRESH_TOKEN_TTL: '1s', FOUNDATION_ACCESS_TOKEN_TTL: '1s' } });
  });
  after(() => platform.close());

  it('refuses an expired refresh token and an expired access token', async () => {
    const account = await signUp(platform.grpc);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expectRpcError(refreshWith(platform, account.refreshToken), Code.Unauthenticated, 'REFRESH_INVALID');
    const error = await expectRpcError(platform.grpc.auth.getMe({}, account.as), Code.Unauthenticated, 'CREDENTIAL_INVALID');
    expect(error.rawMessage).to.contain('expired');
  });
});
