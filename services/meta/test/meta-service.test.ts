import { startTestPlatform, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('MetaService', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  describe('ListConnectors()', () => {
    it('lists the baseline connectors with their credentials and JSON Schemas', async () => {
      const { connectors } = await platform.grpc.meta.listConnectors({});
      const refs = connectors.flatMap((c) => c.actions.map((a) => a.ref));
      expect(refs).to.include.members(['http.request', 'slack.postMessage', 'github.createIssue']);
      const slack = connectors.find((c) => c.id === 'slack')!;
      expect(slack.credential?.kind).to.equal('webhook_url');
      const post = slack.actions.find((a) => a.id === 'postMessage')!;
      expect(post.inputSchema).to.include({ type: 'object' });
      expect(post.inputSchema?.['required']).to.include('text');
    });

    it('serves the same catalog at GET /v1/meta/connectors', async () => {
      const viaHttp = await (await fetch(`${platform.baseUrl}/v1/meta/connectors`)).json();
      const viaConnect = await (
        await fetch(`${platform.baseUrl}/foundation.meta.v1.MetaService/ListConnectors`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).json();
      expect(viaHttp).to.deep.equal(viaConnect);
    });
  });

  describe('ListEngines()', () => {
    it('lists exactly the three coding-agent engines with their executables', async () => {
      const { engines } = await platform.grpc.meta.listEngines({});
      expect(engines.map((e) => [e.id, e.executable])).to.deep.equal([
        ['gateway.codex.v2', 'codex'],
        ['gateway.claude.v2', 'claude'],
        ['gateway.opencode.v2', 'opencode'],
      ]);
      expect(engines.every((e) => e.displayName && e.description)).to.equal(true);
    });

    it('serves the same list at GET /v1/agent/engines, without a credential', async () => {
      const response = await fetch(`${platform.baseUrl}/v1/agent/engines`);
      expect(response.status).to.equal(200);
      const viaConnect = await (
        await fetch(`${platform.baseUrl}/foundation.meta.v1.MetaService/ListEngines`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).json();
      expect(await response.json()).to.deep.equal(viaConnect);
    });
  });

  describe('Echo()', () => {
    it('returns the message', async () => {
      expect((await platform.connect.meta.echo({ message: 'ping' })).message).to.equal('ping');
    });
  });
});
