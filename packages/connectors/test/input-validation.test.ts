import { ConnectorInputError } from '@foundation/connectors';
import { expect } from 'chai';
import { rejectionOf, runBuiltin, startLocalServer, type LocalServer } from './support/local-server.js';

describe('runAction() input validation', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer((_request, res) => res.end('ok'));
  });
  afterEach(async () => {
    expect(server.connections(), 'an invalid input must not cause any request').to.equal(0);
    await server.close();
  });

  async function problemsOf(actionRef: string, input: unknown): Promise<{ path: string; message: string }[]> {
    const error = await rejectionOf(runBuiltin(actionRef, input, { secret: `${server.origin}/hook` }));
    expect(error).to.be.instanceOf(ConnectorInputError);
    expect(error).to.include({ reason: 'CONNECTOR_INPUT_INVALID', retryable: false, actionRef });
    return [...(error as ConnectorInputError).problems];
  }

  it('reports a missing url and an unknown method, every problem at once', async () => {
    expect(await problemsOf('http.request', { method: 'FETCH' })).to.deep.equal([
      { path: 'url', message: 'is required' },
      { path: 'method', message: 'must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' },
    ]);
  });

  it('reports a url that is not a URI, an unexpected property and a non-object input', async () => {
    expect(await problemsOf('http.request', { method: 'GET', url: `not a url ${server.origin}`, extra: true })).to.deep.equal([
      { path: 'extra', message: 'is not allowed' },
      { path: 'url', message: 'must match format "uri"' },
    ]);
    expect(await problemsOf('http.request', 'GET /')).to.deep.equal([{ path: '(input)', message: 'must be object' }]);
  });

  it('reports header auth without a header name, both body kinds at once and a header with a line break', async () => {
    const input = {
      method: 'POST',
      url: server.origin,
      headers: { 'x-a': 'one\r\nx-injected: two' },
      auth: { kind: 'header' },
      body: { json: {}, text: 'also' },
    };
    const problems = await problemsOf('http.request', input);
    expect(problems).to.deep.include({ path: 'auth.headerName', message: 'is required' });
    expect(problems).to.deep.include({ path: 'body', message: 'must NOT have more than 1 properties' });
    expect(problems.map((p) => p.path)).to.include('headers.x-a');
  });

  it('reports nested paths with indices and refuses path segments in a repository name', async () => {
    const problems = await problemsOf('github.createIssue', { owner: 'o', repo: '..', title: '', labels: ['ok', ''] });
    expect(problems.map((p) => p.path)).to.deep.equal(['repo', 'title', 'labels[1]']);
  });

  it('validates Slack input before touching the webhook', async () => {
    expect(await problemsOf('slack.postMessage', { text: '', blocks: 'nope' })).to.deep.equal([
      { path: 'text', message: 'must NOT have fewer than 1 characters' },
      { path: 'blocks', message: 'must be array' },
    ]);
  });
});
