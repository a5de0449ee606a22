import { Code } from '@connectrpc/connect';
import { startTestPlatform, expectRpcError, signUp, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('AuthService', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  describe('SignUp()', () => {
    it('creates an account with a normalized email and logs it in', async () => {
      const res = await platform.grpc.auth.signUp({ email: '  Grace.Hopper@Example.COM ', password: TEST_PASSWORD, displayName: ' Grace ' });
      expect(res.user?.email).to.equal('grace.hopper@example.com');
      expect(res.user?.displayName).to.equal('Grace');
      expect(res.grant?.accessToken.split('.')).to.have.length(3);
      const me = await platform.grpc.auth.getMe({}, { headers: { authorization: `Bearer ${res.grant!.accessToken}` } });
      expect(me.user?.id).to.equal(res.user?.id);
    });

    it('refuses a second account for the same email in another case', async () => {
      const account = await signUp(platform.grpc);
      await expectRpcError(
        platform.grpc.auth.signUp({ email: account.email.toUpperCase(), password: TEST_PASSWORD, displayName: 'Twin' }),
        Code.AlreadyExists,
        'EMAIL_TAKEN',
      );
    });

    it('reports every invalid field at once', async () => {
      const error = await expectRpcError(
        platform.connect.auth.signUp({ email: 'not-an-email', password: 'short', displayName: '' }),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(error.rawMessage).to.contain('email').and.contain('password').and.contain('display_name');
    });
  });
});
