import { Code } from '@connectrpc/connect';
import { FoundationClient } from '@foundation/sdk';
import { expectRpcError, signUp, startTestPlatform, TEST_PASSWORD, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('FoundationClient (SDK)', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_ACCESS_TOKEN_TTL: '1s' } });
  });
  after(() => platform.close());

  for (const protocol of ['connect', 'grpc'] as const) {
    it(`signs up, creates an org and acts in it over ${protocol}`, async () => {
      const client = new FoundationClient({ baseUrl: platform.baseUrl, protocol });
      const user = await client.signUp(`sdk-${protocol}-${Date.now()}@example.com`, TEST_PASSWORD, 'SDK');
      const { org } = await client.org.createOrg({ name: 'SDK Org', slug: `sdk-${protocol}-${Date.now()}` });
      client.useOrg(org!.id);
      const { members } = await client.org.listMembers({});
      expect(members.map((m) => m.userId)).to.deep.equal([user.id]);
    });
  }

  /** The result codes of the GetMe calls the server logged since `from`. */
  const getMeCodes = (from: number) =>
    platform.logLines
      .slice(from)
      .map((line) => JSON.parse(line) as { rpc?: string; code?: string })
      .filter((entry) => entry.rpc === 'foundation.auth.v1.AuthService/GetMe')
      .map((entry) => entry.code);

  it('refreshes an expiring access token before a call', async () => {
    const client = new FoundationClient({ baseUrl: platform.baseUrl, refreshMarginMs: 5_000 });
    const account = await signUp(platform.grpc);
    await client.login(account.email, TEST_PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const from = platform.logLines.length;
    const me = await client.auth.getMe({});
    expect(me.user?.id).to.equal(account.userId);
    expect(getMeCodes(from)).to.deep.equal(['ok']);
  });

  it('refreshes and retries once when the server says the token expired', async () => {
    // A negative margin stands for a client clock running behind: it believes the token still valid.
    const client = new FoundationClient({ baseUrl: platform.baseUrl, refreshMarginMs: -60_000 });
    const account = await signUp(platform.grpc);
    await client.login(account.email, TEST_PASSWORD);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const from = platform.logLines.length;
    const me = await client.auth.getMe({});
    expect(me.user?.id).to.equal(account.userId);
    expect(getMeCodes(from)).to.deep.equal(['unauthenticated', 'ok']);
  });

  it('authenticates with an API token and cannot refresh it', async () => {
    const account = await signUp(platform.grpc);
    const { token } = await platform.grpc.auth.createApiToken({ name: 'sdk' }, account.as);
    const client = new FoundationClient({ baseUrl: platform.baseUrl, apiToken: token });
    expect((await client.auth.getMe({})).user?.id).to.equal(account.userId);
  });

  it('forgets the session on logout', async () => {
    const client = new FoundationClient({ baseUrl: platform.baseUrl });
    const account = await signUp(platform.grpc);
    await client.login(account.email, TEST_PASSWORD);
    await client.logout();
    await expectRpcError(client.auth.getMe({}), Code.Unauthenticated, 'CREDENTIAL_MISSING');
  });
});
