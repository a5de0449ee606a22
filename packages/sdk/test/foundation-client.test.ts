import { fromJson } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { Session_State, WorkflowSpecSchema } from '@foundation/contracts';
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

    it(`publishes a workflow and follows its run to the end over ${protocol}`, async () => {
      const client = new FoundationClient({ baseUrl: platform.baseUrl, protocol });
      await client.signUp(`sdk-wf-${protocol}-${Date.now()}@example.com`, TEST_PASSWORD, 'SDK');
      const { org } = await client.org.createOrg({ name: 'SDK Org', slug: `sdk-wf-${protocol}-${Date.now()}` });
      client.useOrg(org!.id);
      const spec = fromJson(WorkflowSpecSchema, {
        nodes: [
          { id: 'start', type: 'trigger.manual' },
          { id: 'answer', type: 'transform', config: { expression: '6 * 7' } },
        ],
        edges: [{ from: 'start', to: 'answer' }],
      });
      const { workflow } = await client.workflows.createWorkflow({ name: 'SDK', spec });
      await client.workflows.publishWorkflow({ workflowId: workflow!.id });
      const { run } = await client.runs.startRun({ workflowId: workflow!.id });
      const types: string[] = [];
      for await (const { event } of client.runs.watchRun({ runId: run!.id })) types.push(event!.type);
      expect(types.at(-1)).to.equal('run.succeeded');
    });

    it(`pairs a node and opens a coding-agent session that waits for it over ${protocol}`, async () => {
      const client = new FoundationClient({ baseUrl: platform.baseUrl, protocol });
      await client.signUp(`sdk-agent-${protocol}-${Date.now()}@example.com`, TEST_PASSWORD, 'SDK');
      const { org } = await client.org.createOrg({ name: 'SDK Org', slug: `sdk-agent-${protocol}-${Date.now()}` });
      client.useOrg(org!.id);
      const { code } = await client.pairing.createPairingCode({});
      const paired = await client.pairing.pair({ code, name: 'sdk-box', facts: { hostname: 'sdk-box', os: 'linux', arch: 'x64', agentVersion: '0.1.0' } });
      const { executors } = await client.executors.listExecutors({});
      expect(executors.map((e) => [e.id, e.name])).to.deep.equal([[paired.executorId, 'sdk-box']]);
      const { session } = await client.sessions.createSession({ engine: 'gateway.codex.v2', workspace: 'repo', prompt: 'hello' });
      expect(session!.state).to.equal(Session_State.PENDING);
      await expectRpcError(
        client.sessions.createSession({ engine: 'gateway.gemini.v1', workspace: 'repo', prompt: 'hello' }),
        Code.InvalidArgument,
        'UNSUPPORTED_ENGINE',
      );
      expect((await client.sessions.cancelSession({ sessionId: session!.id })).session!.state).to.equal(Session_State.CANCELLED);
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
