import { EgressDeniedError, vetEgressTarget, type EgressPolicy } from '@foundation/connectors';
import { expect } from 'chai';
import { rejectionOf, runBuiltin, startLocalServer, type LocalServer } from './support/local-server.js';

const STRICT: EgressPolicy = { allowLoopback: false, allowPrivate: false };

/**
 * Internal targets the guard must refuse by looking at the address alone. None of them is ever connected
 * to: each is first checked with `vetEgressTarget` (no I/O for an IP literal) before `runAction` sees it.
 */
const INTERNAL_TARGETS = [
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1:8080/',
  'http://100.64.0.1/',
  'http://169.254.169.254/latest/meta-data',
  'http://127.0.0.1/',
  'http://127.8.9.10/',
  'http://2130706433/', // 127.0.0.1 written as a number
  'http://0x7f.1/', // 127.0.0.1 in hex shorthand
  'http://0.0.0.0/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://[::1]/',
  'http://[::]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:10.1.2.3]/',
  'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of 169.254.169.254
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://[fd12:3456::1]/',
  'https://[ff02::1]/',
];

describe('vetEgressTarget()', () => {
  for (const url of INTERNAL_TARGETS) {
    it(`refuses ${url} under a strict policy`, async () => {
      const error = await rejectionOf(vetEgressTarget(new URL(url), STRICT, 'target'));
      expect(error).to.be.instanceOf(EgressDeniedError);
      expect(error).to.include({ reason: 'EGRESS_DENIED', retryable: false });
    });
  }

  it('refuses hostnames that resolve to loopback (localhost, with any case or a trailing dot)', async () => {
    for (const url of ['http://localhost/', 'http://LOCALHOST./']) {
      const error = await rejectionOf(vetEgressTarget(new URL(url), STRICT, 'target'));
      expect(error).to.be.instanceOf(EgressDeniedError);
      expect(error.message).to.equal('egress to target denied: resolves to a loopback address');
    }
  });

  it('refuses schemes other than http: and https: before resolving anything', async () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://localhost:70/']) {
      const error = await rejectionOf(vetEgressTarget(new URL(url), { allowLoopback: true, allowPrivate: true }, 'target'));
      expect(error).to.be.instanceOf(EgressDeniedError);
      expect(error.message).to.match(/only http: and https:/);
    }
  });

  it('opens loopback and private ranges only when the policy says so, link-local never by flag', async () => {
    const open: EgressPolicy = { allowLoopback: true, allowPrivate: true };
    for (const url of ['http://127.0.0.1/', 'http://[::1]/', 'http://10.0.0.1/', 'http://[fd00::1]/', 'http://100.64.0.1/']) {
      expect((await vetEgressTarget(new URL(url), open, 'target')).addresses).to.have.length(1);
    }
    const loopbackOnly: EgressPolicy = { allowLoopback: true, allowPrivate: false };
    const privateOnly: EgressPolicy = { allowLoopback: false, allowPrivate: true };
    expect(await rejectionOf(vetEgressTarget(new URL('http://10.0.0.1/'), loopbackOnly, 't'))).to.be.instanceOf(EgressDeniedError);
    expect(await rejectionOf(vetEgressTarget(new URL('http://127.0.0.1/'), privateOnly, 't'))).to.be.instanceOf(EgressDeniedError);
    expect(await rejectionOf(vetEgressTarget(new URL('http://169.254.169.254/'), open, 't'))).to.be.instanceOf(EgressDeniedError);
  });

  it('exempts allowedHosts from the internal-range checks, but never unspecified or multicast', async () => {
    const policy: EgressPolicy = { ...STRICT, allowedHosts: ['LocalHost', '169.254.169.254', '0.0.0.0', '224.0.0.1'] };
    expect((await vetEgressTarget(new URL('http://localhost:1/'), policy, 't')).addresses[0]).to.deep.equal({ address: '127.0.0.1', family: 4 });
    await vetEgressTarget(new URL('http://169.254.169.254/'), policy, 't');
    expect(await rejectionOf(vetEgressTarget(new URL('http://127.0.0.1/'), policy, 't'))).to.be.instanceOf(EgressDeniedError);
    expect(await rejectionOf(vetEgressTarget(new URL('http://0.0.0.0/'), policy, 't'))).to.be.instanceOf(EgressDeniedError);
    expect(await rejectionOf(vetEgressTarget(new URL('http://224.0.0.1/'), policy, 't'))).to.be.instanceOf(EgressDeniedError);
  });

  it('lets public addresses through (vetting only: nothing is connected to)', async () => {
    for (const url of ['https://93.184.215.14/', 'http://[2606:4700:4700::1111]/', 'http://[::ffff:8.8.8.8]/', 'http://[64:ff9b::808:808]/']) {
      expect((await vetEgressTarget(new URL(url), STRICT, 'target')).addresses).to.have.length(1);
    }
  });
});

describe('runAction() SSRF guard', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer((_request, res) => res.end('should not be reached'));
  });
  afterEach(() => server.close());

  it('refuses a loopback server when loopback is not allowed, before any connection', async () => {
    for (const url of [`${server.origin}/`, `http://localhost:${server.port}/`, `http://[::ffff:127.0.0.1]:${server.port}/`]) {
      const error = await rejectionOf(runBuiltin('http.request', { method: 'GET', url }, { policy: STRICT }));
      expect(error).to.be.instanceOf(EgressDeniedError);
    }
    expect(server.connections()).to.equal(0);
  });

  it('refuses private, link-local, unspecified and mapped targets with EgressDeniedError', async () => {
    for (const url of INTERNAL_TARGETS) {
      // Belt and braces: prove the guard refuses it before runAction could ever try to connect.
      expect(await rejectionOf(vetEgressTarget(new URL(url), STRICT, 't'))).to.be.instanceOf(EgressDeniedError);
      const error = await rejectionOf(runBuiltin('http.request', { method: 'GET', url }, { policy: STRICT }));
      expect(error, url).to.be.instanceOf(EgressDeniedError);
    }
  });

  it('applies to every connector: a Slack webhook or GitHub base URL on a private address is refused', async () => {
    const slack = await rejectionOf(runBuiltin('slack.postMessage', { text: 'x' }, { secret: 'http://10.0.0.1/services/T/B/x' }));
    expect(slack).to.be.instanceOf(EgressDeniedError);
    expect(slack.message).to.equal('egress to the Slack webhook denied: is a private address');
    const metadata = { secret: 'tok', baseUrls: { github: 'http://169.254.169.254' } };
    const github = await rejectionOf(runBuiltin('github.createIssue', { owner: 'o', repo: 'r', title: 't' }, metadata));
    expect(github).to.be.instanceOf(EgressDeniedError);
  });
});
