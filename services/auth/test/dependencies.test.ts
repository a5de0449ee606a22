import { Code } from '@connectrpc/connect';
import { expectRpcError, signUp, startTestPlatform, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('AuthService when Redis is down', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  it('answers Login with UNAVAILABLE, not INTERNAL, and reports not ready', async () => {
    const account = await signUp(platform.grpc);
    await platform.redis.stop();
    const error = await expectRpcError(platform.grpc.auth.login({ email: account.email, password: TEST_PASSWORD }), Code.Unavailable, 'DEPENDENCY_UNAVAILABLE');
    expect(error.rawMessage).not.to.contain(TEST_PASSWORD);
    const ready = await fetch(`${platform.baseUrl}/readyz`);
    expect(ready.status).to.equal(503);
    // What needs no Redis keeps working.
    expect((await platform.grpc.auth.getMe({}, account.as)).user?.id).to.equal(account.userId);
  });
});
