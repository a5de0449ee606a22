import { Code } from '@connectrpc/connect';
import { expectRpcError, signUp, startTestPlatform, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('AuthService', () => {
  describe('Login()', () => {
    let platform: TestPlatform;
    before(async () => {
      platform = await startTestPlatform({ env: { FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: '3', FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '12' } });
    });
    after(() => platform.close());

    it('logs in with the email in any case and returns a working access token', async () => {
      const account = await signUp(platform.grpc);
      const res = await platform.grpc.auth.login({ email: account.email.toUpperCase(), password: TEST_PASSWORD });
      expect(res.user?.id).to.equal(account.userId);
      const me = await platform.grpc.auth.getMe({}, { headers: { authorization: `Bearer ${res.grant!.accessToken}` } });
      expect(me.user?.email).to.equal(account.email);
    });

    it('gives a wrong password and an unknown email the same answer', async () => {
      const account = await signUp(platform.grpc);
      const wrongPassword = await expectRpcError(platform.grpc.auth.login({ email: account.email, password: 'not the password' }), Code.Unauthenticated, 'LOGIN_FAILED');
      const unknownEmail = await expectRpcError(platform.grpc.auth.login({ email: `nobody-${account.email}`, password: TEST_PASSWORD }), Code.Unauthenticated, 'LOGIN_FAILED');
      expect(unknownEmail.rawMessage).to.equal(wrongPassword.rawMessage);
    });

    it('limits attempts per account, even with the right password, and says when to retry', async () => {
      const account = await signUp(platform.grpc);
      for (let i = 0; i < 3; i++) {
        await expectRpcError(platform.grpc.auth.login({ email: account.email, password: 'guess number ' + i }), Code.Unauthenticated, 'LOGIN_FAILED');
      }
      const limited = await expectRpcError(platform.grpc.auth.login({ email: account.email, password: TEST_PASSWORD }), Code.ResourceExhausted, 'RATE_LIMITED');
      expect(limited.rawMessage).to.match(/retry in \d+ s/);
    });

    it('clears the account count after a successful login', async () => {
      const account = await signUp(platform.grpc);
      await expectRpcError(platform.grpc.auth.login({ email: account.email, password: 'wrong once' }), Code.Unauthenticated);
      await expectRpcError(platform.grpc.auth.login({ email: account.email, password: 'wrong twice' }), Code.Unauthenticated);
      await platform.grpc.auth.login({ email: account.email, password: TEST_PASSWORD });
      await expectRpcError(platform.grpc.auth.login({ email: account.email, password: 'wrong again' }), Code.Unauthenticated, 'LOGIN_FAILED');
    });
  });

  describe('Login() from one client address', () => {
    let platform: TestPlatform;
    before(async () => {
      platform = await startTestPlatform({ env: { FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '5' } });
    });
    after(() => platform.close());

    it('refuses attempts beyond the address limit, whichever accounts they name', async () => {
      for (let i = 0; i < 5; i++) {
        await expectRpcError(platform.grpc.auth.login({ email: `spray-${i}@example.com`, password: TEST_PASSWORD }), Code.Unauthenticated, 'LOGIN_FAILED');
      }
      await expectRpcError(platform.grpc.auth.login({ email: 'spray-5@example.com', password: TEST_PASSWORD }), Code.ResourceExhausted, 'RATE_LIMITED');
    });
  });
});
