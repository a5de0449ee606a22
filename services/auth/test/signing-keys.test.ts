import type { AuthModule } from '@foundation/auth';
import { signUp, startTestPlatform, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';

describe('AuthService signing keys', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_JWKS_REFETCH_COOLDOWN: '1ms' } });
  });
  after(() => platform.close());

  const authModule = () => platform.running.modules.find((m) => m.name === 'auth') as AuthModule;

  it('publishes the same ES256 keys over GetJwks and /.well-known/jwks.json', async () => {
    const rpc = JSON.parse((await platform.grpc.auth.getJwks({})).jwksJson);
    const http = await (await fetch(`${platform.baseUrl}/.well-known/jwks.json`)).json();
    expect(http).to.deep.equal(rpc);
    expect(rpc.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(rpc.keys[0]).not.to.have.property('d');
  });

  it('keeps verifying old tokens after a rotation and accepts tokens of the new kid', async () => {
    const account = await signUp(platform.grpc);
    const oldKid = decodeProtectedHeader(account.accessToken).kid;
    await platform.grpc.auth.getMe({}, account.as);
    const newKid = await authModule().signingKeys.rotate();
    const login = await platform.grpc.auth.login({ email: account.email, password: TEST_PASSWORD });
    expect(decodeProtectedHeader(login.grant!.accessToken).kid).to.equal(newKid).and.not.equal(oldKid);
    const me = await platform.grpc.auth.getMe({}, { headers: { authorization: `Bearer ${login.grant!.accessToken}` } });
    expect(me.user?.id).to.equal(account.userId);
    await platform.grpc.auth.getMe({}, account.as);
  });
});
