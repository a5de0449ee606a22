import { randomUUID } from 'node:crypto';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SecretsService } from '@foundation/contracts';
import { SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import { expectRpcError, inOrg, orgWithRoles, startTestPlatform, withDatabase, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { resolverOf, uniqueValue, type Resolve } from './secrets-fixtures.js';

describe('SecretsService', () => {
  let platform: TestPlatform;
  let a: OrgWithRoles;
  let b: OrgWithRoles;
  let resolve: Resolve;
  const name = 'GITHUB_TOKEN';
  const valueOfA = uniqueValue('a');
  const valueOfB = uniqueValue('b');
  before(async () => {
    platform = await startTestPlatform();
    [a, b] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
    resolve = resolverOf(platform);
    await platform.grpc.secrets.createSecret({ name, value: valueOfA }, inOrg(a.owner, a.org.id));
    await platform.grpc.secrets.createSecret({ name: 'ONLY_IN_A', value: uniqueValue() }, inOrg(a.owner, a.org.id));
  });
  after(() => platform.close());

  describe('tenant isolation', () => {
    it("never shows one org's secrets to another: not listed, NOT_FOUND to get, update or resolve", async () => {
      const asB = inOrg(b.owner, b.org.id);
      expect((await platform.grpc.secrets.listSecrets({}, asB)).secrets).to.deep.equal([]);
      await expectRpcError(platform.grpc.secrets.getSecret({ name: 'ONLY_IN_A' }, asB), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(platform.grpc.secrets.updateSecret({ name: 'ONLY_IN_A', value: 'overwrite' }, asB), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(platform.grpc.secrets.deleteSecret({ name: 'ONLY_IN_A' }, asB), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(resolve(b.org.id, 'ONLY_IN_A'), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(resolve(randomUUID(), name), Code.NotFound, 'NOT_FOUND');
    });

    it('keeps two secrets of the same name in two orgs apart', async () => {
      await platform.grpc.secrets.createSecret({ name, value: valueOfB }, inOrg(b.admin, b.org.id));
      expect((await resolve(a.org.id, name)).value).to.equal(valueOfA);
      expect((await resolve(b.org.id, name)).value).to.equal(valueOfB);
    });

    it("refuses a member of org B who names org A in X-Org-Id", async () => {
      await expectRpcError(platform.grpc.secrets.listSecrets({}, inOrg(b.owner, a.org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
    });

    it('lets row-level security show the app role no secret, version or data key of an org it did not set', async () => {
      const visible = await withDatabase(platform, 'app', async (db) => {
        const count = async () =>
          Promise.all(
            ['secrets', 'secret_versions', 'data_keys', 'secret_resolutions'].map(
              async (table) => (await db.query(`select count(*)::int as n from secrets.${table} where org_id = $1`, [a.org.id])).rows[0].n as number,
            ),
          );
        const unset = await count();
        await db.query("select set_config('app.org_id', $1, false)", [b.org.id]);
        return { unset, asB: await count() };
      });
      expect(visible).to.deep.equal({ unset: [0, 0, 0, 0], asB: [0, 0, 0, 0] });
      const ownerSees = await withDatabase(platform, 'owner', async (db) => ({
        dataKeys: (await db.query('select count(*)::int as n from secrets.data_keys where org_id = $1', [a.org.id])).rows[0].n,
        secrets: (await db.query('select count(*)::int as n from secrets.secrets where org_id = $1', [a.org.id])).rows[0].n,
      }));
      // The owner's rotation policy opens the wrapped data keys to it, and nothing else.
      expect(ownerSees).to.deep.equal({ dataKeys: 1, secrets: 0 });
    });
  });

  describe('ResolveSecret() callers', () => {
    const call = (headers: Record<string, string>) =>
      createClient(SecretsService, createGrpcTransport({ baseUrl: platform.baseUrl })).resolveSecret({ orgId: a.org.id, name, runId: randomUUID() }, { headers });

    it('refuses a user access token and an API token with PERMISSION_DENIED (INTERNAL_ONLY)', async () => {
      await expectRpcError(call(a.owner.as.headers), Code.PermissionDenied, 'INTERNAL_ONLY');
      await expectRpcError(call(inOrg(a.owner, a.org.id).headers), Code.PermissionDenied, 'INTERNAL_ONLY');
      const { token } = await platform.grpc.auth.createApiToken({ name: 'automation' }, a.owner.as);
      await expectRpcError(call({ authorization: `Bearer ${token}` }), Code.PermissionDenied, 'INTERNAL_ONLY');
    });

    it('refuses every service but execution, such as org, with PERMISSION_DENIED (INTERNAL_ONLY)', async () => {
      const asOrg = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(SecretsService.typeName);
      await expectRpcError(call({ [SERVICE_TOKEN_HEADER]: asOrg }), Code.PermissionDenied, 'INTERNAL_ONLY');
      await expectRpcError(resolverOf(platform, 'workflow')(a.org.id, name), Code.PermissionDenied, 'INTERNAL_ONLY');
    });

    it('audits each resolution with the calling service, the run, the version and the time', async () => {
      const runId = randomUUID();
      const before = new Date(Date.now() - 1000);
      await resolve(a.org.id, name, runId);
      const rows = await withDatabase(platform, 'superuser', async (db) =>
        (
          await db.query(
            `select r.org_id, r.secret_id = s.id as same_secret, r.secret_name, r.version, r.caller_service, r.outcome, r.resolved_at
             from secrets.secret_resolutions r join secrets.secrets s on s.org_id = r.org_id and s.name = r.secret_name where r.run_id = $1`,
            [runId],
          )
        ).rows,
      );
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ org_id: a.org.id, same_secret: true, secret_name: name, version: 1, caller_service: 'execution', outcome: 'resolved' });
      expect(rows[0].resolved_at.getTime()).to.be.within(before.getTime(), Date.now() + 1000);
    });
  });
});
