import { ConnectorHttpError } from '@foundation/connectors';
import { expect } from 'chai';
import { rejectionOf, runBuiltin, sendJson, startLocalServer, type LocalServer } from './support/local-server.js';

const TOKEN = 'ghp_testtoken0123456789';

describe('github.createIssue', () => {
  let server: LocalServer;
  let reply: () => unknown;
  beforeEach(async () => {
    reply = () => ({ number: 42, url: 'https://api.github.test/repos/o/r/issues/42', html_url: 'https://github.test/o/r/issues/42', id: 1 });
    server = await startLocalServer((request, res) => sendJson(res, request.url === '/api/v3/repos/o/r/issues' ? 201 : 404, reply()));
  });
  afterEach(() => server.close());

  const options = () => ({ secret: TOKEN, baseUrls: { github: `${server.origin}/api/v3/` } });

  it('POSTs the issue to /repos/{owner}/{repo}/issues with the token and GitHub headers, and maps the answer', async () => {
    const input = { owner: 'o', repo: 'r', title: 'Broken build', body: 'details', labels: ['ci'] };
    const { output } = await runBuiltin('github.createIssue', input, options());
    expect(output).to.deep.equal({ number: 42, url: 'https://api.github.test/repos/o/r/issues/42', htmlUrl: 'https://github.test/o/r/issues/42' });
    const [received] = server.requests;
    expect(received).to.include({ method: 'POST', url: '/api/v3/repos/o/r/issues' });
    expect(received!.headers).to.include({
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'content-type': 'application/json',
    });
    expect(received!.headers['user-agent']).to.be.a('string');
    expect(JSON.parse(received!.body)).to.deep.equal({ title: 'Broken build', body: 'details', labels: ['ci'] });
  });

  it('fails when GitHub answers 2xx without the issue fields', async () => {
    reply = () => ({ message: 'something else' });
    const error = await rejectionOf(runBuiltin('github.createIssue', { owner: 'o', repo: 'r', title: 't' }, options()));
    expect(error).to.be.instanceOf(ConnectorHttpError);
    expect(error).to.include({ status: 201, retryable: false });
  });
});
