import {
  ConnectorCatalog,
  ConnectorCredentialError,
  ConnectorInternalError,
  ConnectorHttpError,
  ConnectorNetworkError,
  ConnectorTimeoutError,
  EgressDeniedError,
  runAction,
} from '@foundation/connectors';
import { expect } from 'chai';
import { inspect } from 'node:util';
import { loopbackOptions, rejectionOf, runBuiltin, sendJson, startLocalServer, type LocalServer } from './support/local-server.js';

const HOOK_PATH = '/services/T0001/B0002/hooksecretXYZ';
const TOKEN = 'ghp_supersecret0123456789';

/** Every way an error reaches a person or a log: message, stack, JSON and Node's inspection. */
function expectSecretFree(error: Error, ...secrets: string[]): void {
  const renderings = [error.message, String(error.stack), JSON.stringify(error), inspect(error, { depth: 10 })];
  for (const secret of secrets) {
    for (const text of renderings) expect(text).not.to.include(secret);
  }
}

describe('secrets never leak', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer((request, res) => {
      if (request.url === '/hang') return;
      if (request.url.startsWith('/echo')) {
        // An upstream that reflects what it was sent, as echo endpoints and chatty error pages do.
        const reflected = { url: request.url, headers: request.headers, origin: server.origin };
        return sendJson(res, request.url === '/echo/fail' ? 403 : 200, reflected, { 'x-seen-auth': String(request.headers['authorization']) });
      }
      const quoted = { got: request.headers['authorization'], path: request.url, hook: `${server.origin}${request.url}` };
      sendJson(res, 401, { message: 'Bad credentials', ...quoted });
    });
  });
  afterEach(() => server.close());

  describe('the Slack webhook URL', () => {
    it('is absent from an upstream error, even when the upstream quotes the URL and its path', async () => {
      const secret = `${server.origin}${HOOK_PATH}`;
      const error = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret }));
      expect(error).to.be.instanceOf(ConnectorHttpError);
      expect((error as ConnectorHttpError).bodyExcerpt).to.include('[REDACTED]');
      expectSecretFree(error, secret, HOOK_PATH, 'hooksecretXYZ');
    });

    it('is absent from timeout, network and egress errors', async () => {
      const hanging = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret: `${server.origin}/hang`, timeoutMs: 200 }));
      expect(hanging).to.be.instanceOf(ConnectorTimeoutError);
      expectSecretFree(hanging, '/hang');

      const closed = await startLocalServer(() => undefined);
      await closed.close();
      const refusedUrl = `${closed.origin}${HOOK_PATH}`;
      const refused = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret: refusedUrl }));
      expect(refused).to.be.instanceOf(ConnectorNetworkError);
      expect(refused).to.include({ code: 'ECONNREFUSED', retryable: true });
      expectSecretFree(refused, refusedUrl, HOOK_PATH, String(closed.port));

      const privateUrl = `http://10.0.0.1${HOOK_PATH}`;
      const denied = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret: privateUrl }));
      expect(denied).to.be.instanceOf(EgressDeniedError);
      expectSecretFree(denied, privateUrl, HOOK_PATH, '10.0.0.1');
    });

    it('is not quoted when it is not a URL at all', async () => {
      const secret = 'xoxb-not-a-webhook-url';
      const error = await rejectionOf(runBuiltin('slack.postMessage', { text: 'hi' }, { secret }));
      expect(error).to.be.instanceOf(ConnectorCredentialError);
      expectSecretFree(error, secret);
    });
  });

  describe('a token', () => {
    it('is absent from a GitHub error that echoes the Authorization header', async () => {
      const error = await rejectionOf(
        runBuiltin('github.createIssue', { owner: 'o', repo: 'r', title: 't' }, { secret: TOKEN, baseUrls: { github: server.origin } }),
      );
      expect(error).to.be.instanceOf(ConnectorHttpError);
      expect(error).to.include({ status: 401, retryable: false });
      expect((error as ConnectorHttpError).bodyExcerpt).to.include('Bearer [REDACTED]');
      expectSecretFree(error, TOKEN);
    });

    it('is absent from the output of http.request when the upstream reflects it, in every auth form', async () => {
      for (const [auth, secret, forms] of [
        [{ kind: 'bearer' }, TOKEN, [TOKEN]],
        [{ kind: 'basic' }, 'ana:pa55word', ['pa55word', Buffer.from('ana:pa55word').toString('base64')]],
        [{ kind: 'header', headerName: 'X-Api-Key' }, TOKEN, [TOKEN]],
      ] as const) {
        const { output } = await runBuiltin('http.request', { method: 'GET', url: `${server.origin}/echo`, auth }, { secret });
        const rendered = JSON.stringify(output);
        for (const form of forms) expect(rendered).not.to.include(form);
        expect(rendered).to.include('[REDACTED]');
      }
    });

    it('is absent from an http.request error whose body reflects it', async () => {
      const error = await rejectionOf(
        runBuiltin('http.request', { method: 'GET', url: `${server.origin}/echo/fail`, auth: { kind: 'bearer' } }, { secret: TOKEN }),
      );
      expect(error).to.be.instanceOf(ConnectorHttpError);
      expectSecretFree(error, TOKEN);
    });
  });

  it('is redacted from an error an action did not anticipate', async () => {
    const leaky = new ConnectorCatalog([
      {
        id: 'leaky',
        version: '0.0.1',
        displayName: 'Leaky',
        description: 'throws a raw error quoting its secret',
        credential: { kind: 'bearer_token', description: 'token', optional: false },
        actions: [
          {
            id: 'run',
            description: 'fails',
            inputSchema: { type: 'object' },
            outputSchema: { type: 'object' },
            run: async (_input, context) => {
              throw new Error(`bad token ${context.secret}`);
            },
          },
        ],
      },
    ]);
    const error = await rejectionOf(runAction(leaky, 'leaky.run', {}, loopbackOptions({ secret: TOKEN })));
    expect(error).to.be.instanceOf(ConnectorInternalError);
    expect(error).to.include({ reason: 'CONNECTOR_INTERNAL', retryable: false, message: 'leaky.run failed unexpectedly: bad token [REDACTED]' });
    expectSecretFree(error, TOKEN);
  });

  it('errors name an origin, never a path or query, which routinely carry credentials', async () => {
    const url = 'http://10.0.0.1/callback?sig=signed-query-value';
    const error = await rejectionOf(runBuiltin('http.request', { method: 'GET', url }));
    expect(error).to.be.instanceOf(EgressDeniedError);
    expect(error.message).to.equal('egress to http://10.0.0.1 denied: is a private address');
    expectSecretFree(error, 'signed-query-value', '/callback');
  });
});
