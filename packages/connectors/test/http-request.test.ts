import { ConnectorCredentialError, ConnectorHttpError, createBuiltinCatalog, describeCatalog } from '@foundation/connectors';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { rejectionOf, runBuiltin, sendJson, startLocalServer, type LocalServer } from './support/local-server.js';

const outputSchema = describeCatalog(createBuiltinCatalog())[0]!.actions[0]!.outputSchema;
const matchesOutputSchema = new Ajv({ allowUnionTypes: true }).compile(outputSchema);

describe('http.request', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer((request, res) => {
      if (request.url.startsWith('/text')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('plain words');
      } else if (request.url.startsWith('/missing')) {
        sendJson(res, 404, { error: 'no such thing' });
      } else if (request.url.startsWith('/busy')) {
        sendJson(res, 503, { error: 'try later' });
      } else {
        sendJson(res, 201, { received: JSON.parse(request.body || 'null') }, { 'set-cookie': ['session=abc'], 'x-upstream': 'yes' });
      }
    });
  });
  afterEach(() => server.close());

  it('round-trips JSON: method, query, headers and body reach the server; status, headers and parsed body come back', async () => {
    const { output } = await runBuiltin('http.request', {
      method: 'POST',
      url: `${server.origin}/items`,
      query: { page: 2, q: 'a b' },
      headers: { 'X-Trace': 't1' },
      body: { json: { name: 'x', n: [1, 2] } },
    });
    const [received] = server.requests;
    expect(received).to.include({ method: 'POST', url: '/items?page=2&q=a+b', body: '{"name":"x","n":[1,2]}' });
    expect(received!.headers).to.include({ 'content-type': 'application/json', 'x-trace': 't1' });
    expect(output).to.deep.include({ status: 201, body: { received: { name: 'x', n: [1, 2] } } });
    expect(output).to.have.nested.property('headers.x-upstream', 'yes');
    expect(output).not.to.have.nested.property('headers.set-cookie');
    expect(matchesOutputSchema(output), JSON.stringify(matchesOutputSchema.errors)).to.equal(true);
  });

  it('sends a text body and returns a non-JSON response as text', async () => {
    const { output } = await runBuiltin('http.request', { method: 'PUT', url: `${server.origin}/text`, body: { text: 'héllo' } });
    expect(server.requests[0]).to.include({ method: 'PUT', body: 'héllo' });
    expect(server.requests[0]!.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(output).to.deep.include({ status: 200, body: 'plain words' });
  });

  for (const [auth, secret, header, expected] of [
    [{ kind: 'bearer' }, 'tok-123', 'authorization', 'Bearer tok-123'],
    [{ kind: 'basic' }, 'ana:s3cret', 'authorization', `Basic ${Buffer.from('ana:s3cret').toString('base64')}`],
    [{ kind: 'header', headerName: 'X-Api-Key' }, 'key-456', 'x-api-key', 'key-456'],
  ] as const) {
    it(`sends the secret as ${auth.kind} auth`, async () => {
      await runBuiltin('http.request', { method: 'GET', url: `${server.origin}/auth`, auth }, { secret });
      expect(server.requests[0]!.headers[header]).to.equal(expected);
    });
  }

  it('sends no credential when the input asks for no auth, even with a secret at hand', async () => {
    await runBuiltin('http.request', { method: 'GET', url: `${server.origin}/` }, { secret: 'tok-123' });
    expect(server.requests[0]!.headers).not.to.have.property('authorization');
  });

  it('refuses auth without a secret, and a basic secret without a colon, before sending anything', async () => {
    const noSecret = await rejectionOf(runBuiltin('http.request', { method: 'GET', url: server.origin, auth: { kind: 'bearer' } }));
    expect(noSecret).to.be.instanceOf(ConnectorCredentialError);
    const noColon = await rejectionOf(
      runBuiltin('http.request', { method: 'GET', url: server.origin, auth: { kind: 'basic' } }, { secret: 'justapassword' }),
    );
    expect(noColon).to.be.instanceOf(ConnectorCredentialError);
    expect(noColon.message).not.to.include('justapassword');
    expect(server.connections()).to.equal(0);
  });

  it('fails a 4xx answer as not retryable and a 5xx answer as retryable, with a body excerpt', async () => {
    const notFound = await rejectionOf(runBuiltin('http.request', { method: 'GET', url: `${server.origin}/missing` }));
    expect(notFound).to.be.instanceOf(ConnectorHttpError);
    expect(notFound).to.include({ reason: 'UPSTREAM_ERROR', status: 404, retryable: false, bodyExcerpt: '{"error":"no such thing"}' });
    expect(notFound.message).to.equal(`${server.origin} answered HTTP 404`);
    const busy = await rejectionOf(runBuiltin('http.request', { method: 'GET', url: `${server.origin}/busy` }));
    expect(busy).to.include({ status: 503, retryable: true });
  });
});
