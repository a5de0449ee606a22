import { ConnectorHttpError } from '@foundation/connectors';
import { expect } from 'chai';
import { rejectionOf, runBuiltin, startLocalServer, type LocalServer } from './support/local-server.js';

const HOOK_PATH = '/services/T0001/B0002/hooksecretXYZ';

describe('slack.postMessage', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer((request, res) => {
      res.writeHead(request.url === HOOK_PATH ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(request.url === HOOK_PATH ? 'ok' : 'no_service');
    });
  });
  afterEach(() => server.close());

  it('posts the message as JSON to the webhook URL and returns { ok: true }', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*deployed*' } }];
    const { output } = await runBuiltin('slack.postMessage', { text: 'deployed', blocks }, { secret: `${server.origin}${HOOK_PATH}` });
    expect(output).to.deep.equal({ ok: true });
    const [received] = server.requests;
    expect(received).to.include({ method: 'POST', url: HOOK_PATH });
    expect(received!.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(received!.body)).to.deep.equal({ text: 'deployed', blocks });
  });

  it('fails a rejected post as UPSTREAM_ERROR naming "the Slack webhook", not its URL', async () => {
    const error = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret: `${server.origin}/services/wrong` }));
    expect(error).to.be.instanceOf(ConnectorHttpError);
    expect(error).to.include({ status: 404, retryable: false, bodyExcerpt: 'no_service' });
    expect(error.message).to.equal('the Slack webhook answered HTTP 404');
  });
});
