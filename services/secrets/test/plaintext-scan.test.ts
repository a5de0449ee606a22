import { randomUUID } from 'node:crypto';
import { SecretsService } from '@foundation/contracts';
import { inOrg, orgWithRoles, startTestPlatform, withDatabase, type OrgWithRoles, type TestAccount, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { rotateMasterKey } from '../src/master-key-rotation.js';
import { resolverOf, uniqueValue } from './secrets-fixtures.js';

/**
 * After a value is written, it must appear nowhere but in ResolveSecret's answer: not in any other
 * response body (successes and errors alike), not in a log line, and not in any column of the secrets
 * schema. This suite writes, updates, rolls back, fails on purpose and rotates the master key, keeping
 * every response body as it travelled (the Connect protocol's JSON), then searches all three places.
 */
describe('SecretsService', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  let outsider: OrgWithRoles;
  /** Every value this suite sent, whether the call that carried it succeeded or not. */
  const sent: string[] = [];
  const bodies: string[] = [];
  const progress: string[] = [];
  /** What ResolveSecret answered: the one place values may appear, and the proof the search can find them. */
  const resolved: string[] = [];

  /** A Connect JSON call whose response body is kept; `value` fields are remembered. */
  async function call(method: string, request: Record<string, unknown>, account: TestAccount, orgId: string): Promise<number> {
    if (typeof request.value === 'string') sent.push(request.value);
    return post(method, JSON.stringify(request), inOrg(account, orgId).headers);
  }

  async function post(method: string, body: string, headers: Record<string, string>): Promise<number> {
    const res = await fetch(`${platform.baseUrl}/${SecretsService.typeName}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    bodies.push(await res.text());
    return res.status;
  }

  before(async function () {
    this.timeout(120_000);
    platform = await startTestPlatform();
    [tenant, outsider] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
    const { owner, admin, member } = tenant;
    const org = tenant.org.id;
    const statuses = [
      await call('CreateSecret', { name: 'STRIPE', value: uniqueValue('stripe-1'), description: 'payments' }, owner, org),
      await call('CreateSecret', { name: 'SLACK', value: uniqueValue('slack-1') }, admin, org),
      await call('UpdateSecret', { name: 'STRIPE', value: uniqueValue('stripe-2') }, admin, org),
      await call('UpdateSecret', { name: 'STRIPE', value: uniqueValue('stripe-3') }, owner, org),
      await call('RollbackSecret', { name: 'STRIPE', version: 1 }, owner, org),
      await call('GetSecret', { name: 'STRIPE' }, member, org),
      await call('ListSecrets', {}, member, org),
      await call('CreateSecret', { name: 'DOOMED', value: uniqueValue('doomed') }, owner, org),
      await call('DeleteSecret', { name: 'DOOMED' }, owner, org),
    ];
    expect(statuses).to.deep.equal(statuses.map(() => 200));

    const failures = [
      await call('CreateSecret', { name: 'STRIPE', value: uniqueValue('duplicate') }, owner, org),
      await call('CreateSecret', { name: 'BY_MEMBER', value: uniqueValue('member') }, member, org),
      await call('UpdateSecret', { name: 'STRIPE', value: uniqueValue('member-update') }, member, org),
      await call('UpdateSecret', { name: 'MISSING', value: uniqueValue('missing') }, owner, org),
      await call('UpdateSecret', { name: 'DOOMED', value: uniqueValue('deleted') }, owner, org),
      await call('CreateSecret', { name: 'bad name', value: uniqueValue('bad-name') }, owner, org),
      await call('CreateSecret', { name: 'LONG', value: uniqueValue('long-description'), description: 'd'.repeat(501) }, owner, org),
      await call('CreateSecret', { name: 'HUGE', value: `${uniqueValue('huge')}${'x'.repeat(64 * 1024)}` }, owner, org),
      await call('CreateSecret', { name: 'ELSEWHERE', value: uniqueValue('not-a-member') }, owner, outsider.org.id),
    ];
    // Values a client sent in a body that does not decode: the decoder must not quote them back.
    const numeric = String(Date.now() * 1000 + 123);
    const unquoted = uniqueValue('unquoted').replaceAll('-', '');
    sent.push(numeric, unquoted);
    failures.push(
      await post('CreateSecret', `{"name":"NUMERIC","value":${numeric}}`, inOrg(owner, org).headers),
      await post('CreateSecret', `{"name":"BROKEN","value":${unquoted}}`, inOrg(owner, org).headers),
    );
    expect(failures.every((status) => status >= 400)).to.equal(true);

    const resolve = resolverOf(platform);
    for (const name of ['STRIPE', 'SLACK']) resolved.push((await resolve(org, name)).value);
    await rotateMasterKey({ ownerUrl: platform.database.ownerUrl, keyringFile: platform.masterKeyFile!, progress: (line) => progress.push(line) });
    for (const name of ['STRIPE', 'SLACK']) resolved.push((await resolve(org, name, randomUUID())).value);
  });
  after(() => platform.close());

  describe('plaintext after write', () => {
    it('sent every value it searches for, and ResolveSecret returns the current ones', () => {
      expect(sent).to.have.length(16);
      expect(bodies).to.have.length(20);
      expect(resolved).to.deep.equal([sent[0], sent[1], sent[0], sent[1]]);
    });

    it('is in no response body, success or error', () => {
      for (const body of bodies) for (const value of sent) expect(body).to.not.contain(value);
    });

    it('is in no log line and no line the rotation printed', () => {
      expect(platform.logLines.length).to.be.greaterThan(20);
      for (const line of [...platform.logLines, ...progress]) for (const value of sent) expect(line).to.not.contain(value);
    });

    it('is in no column of any table of the secrets schema, as text or as bytes', async () => {
      const dump = await withDatabase(platform, 'superuser', async (db) => {
        const tables = (await db.query("select tablename from pg_tables where schemaname = 'secrets' order by 1")).rows.map((r) => r.tablename as string);
        expect(tables).to.include.members(['data_keys', 'secrets', 'secret_versions', 'secret_resolutions']);
        const rows: string[] = [];
        for (const table of tables) rows.push(...(await db.query(`select t::text as row from secrets.${table} t`)).rows.map((r) => r.row as string));
        return rows;
      });
      expect(dump.length).to.be.greaterThan(10);
      const text = dump.join('\n');
      for (const value of sent) {
        expect(text).to.not.contain(value);
        expect(text).to.not.contain(Buffer.from(value).toString('hex'));
        expect(text).to.not.contain(Buffer.from(value).toString('base64'));
      }
    });
  });
});
