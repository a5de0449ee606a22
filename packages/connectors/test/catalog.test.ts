import {
  ConnectorCatalog,
  ConnectorCredentialError,
  UnknownActionError,
  createBuiltinCatalog,
  describeCatalog,
  type ConnectorDefinition,
} from '@foundation/connectors';
import { expect } from 'chai';
import { rejectionOf, runBuiltin } from './support/local-server.js';

describe('ConnectorCatalog', () => {
  const catalog = createBuiltinCatalog();

  it('lists the built-in connectors and finds actions by <connector>.<action>', () => {
    expect(catalog.list().map((c) => c.id)).to.deep.equal(['http', 'slack', 'github']);
    expect(catalog.getConnector('slack')?.credential.kind).to.equal('webhook_url');
    for (const ref of ['http.request', 'slack.postMessage', 'github.createIssue']) {
      expect(catalog.getAction(ref)?.ref).to.equal(ref);
    }
    expect(catalog.getAction('http')).to.equal(undefined);
    expect(catalog.getAction('http.request.extra')).to.equal(undefined);
    expect(catalog.getConnector('ftp')).to.equal(undefined);
  });

  it('refuses duplicate ids, ids with dots and invalid schemas at construction', () => {
    const base: ConnectorDefinition = {
      id: 'demo',
      version: '1.0.0',
      displayName: 'Demo',
      description: 'demo',
      credential: { kind: 'none', description: 'none', optional: true },
      actions: [],
    };
    const action = { id: 'run', description: 'run', inputSchema: { type: 'object' }, outputSchema: { type: 'object' }, run: async () => null };
    expect(() => new ConnectorCatalog([base, base])).to.throw(/duplicate connector id demo/);
    expect(() => new ConnectorCatalog([{ ...base, id: 'de.mo' }])).to.throw(/invalid connector id/);
    expect(() => new ConnectorCatalog([{ ...base, actions: [action, action] }])).to.throw(/duplicate action demo.run/);
    expect(() => new ConnectorCatalog([{ ...base, actions: [{ ...action, inputSchema: { type: 'thing' } }] }])).to.throw();
    expect(() => new ConnectorCatalog([{ ...base, actions: [{ ...action, outputSchema: { type: 'thing' } }] }])).to.throw(/output schema of demo.run/);
  });
});

describe('ConnectorCatalog.checkInput()', () => {
  const catalog = createBuiltinCatalog();

  it('returns the problems of an input against the action input schema, none for a valid one', () => {
    expect(catalog.checkInput('http.request', { method: 'GET', url: 'https://example.com' })).to.deep.equal([]);
    expect(catalog.checkInput('github.createIssue', { owner: 'acme', repo: 'app', labels: [''] })).to.deep.equal([
      { path: 'title', message: 'is required' },
      { path: 'labels[0]', message: 'must NOT have fewer than 1 characters' },
    ]);
  });

  it('throws UnknownActionError for a reference the catalog does not have', () => {
    expect(() => catalog.checkInput('ftp.put', {})).to.throw(UnknownActionError);
  });
});

describe('describeCatalog()', () => {
  it('is plain JSON: no functions, identical after a JSON round trip, one entry per action with its ref', () => {
    const description = describeCatalog(createBuiltinCatalog());
    expect(JSON.parse(JSON.stringify(description))).to.deep.equal(description);
    const http = description.find((c) => c.id === 'http')!;
    expect(http).to.include({ version: '1.0.0', displayName: 'HTTP' });
    expect(http.credential).to.deep.equal({
      kind: 'http_credential',
      description: http.credential.description,
      optional: true,
    });
    expect(http.actions.map((a) => a.ref)).to.deep.equal(['http.request']);
    expect(http.actions[0]!.inputSchema).to.have.nested.property('properties.url.format', 'uri');
    expect(description.flatMap((c) => c.actions.map((a) => a.ref))).to.deep.equal(['http.request', 'slack.postMessage', 'github.createIssue']);
  });

  it('hands out copies, so a caller mutating the description does not change the catalog', () => {
    const catalog = createBuiltinCatalog();
    const first = describeCatalog(catalog);
    (first[0]!.actions[0]!.inputSchema as Record<string, unknown>)['type'] = 'string';
    expect(describeCatalog(catalog)[0]!.actions[0]!.inputSchema['type']).to.equal('object');
  });
});

describe('runAction() lookup and credentials', () => {
  it('throws UnknownActionError for a reference no connector has', async () => {
    for (const ref of ['nope.run', 'http.nope', 'http']) {
      const error = await rejectionOf(runBuiltin(ref, {}));
      expect(error).to.be.instanceOf(UnknownActionError);
      expect(error).to.include({ reason: 'UNKNOWN_ACTION', retryable: false, actionRef: ref });
    }
  });

  it('throws ConnectorCredentialError when a required secret is missing', async () => {
    const error = await rejectionOf(runBuiltin('github.createIssue', { owner: 'o', repo: 'r', title: 't' }));
    expect(error).to.be.instanceOf(ConnectorCredentialError);
    expect(error).to.include({ reason: 'CREDENTIAL_INVALID', retryable: false });
  });
});
