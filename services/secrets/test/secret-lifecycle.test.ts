import { Code } from '@connectrpc/connect';
import { expectRpcError, inOrg, invalidFieldOf, orgWithRoles, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { resolverOf, uniqueValue, type Resolve } from './secrets-fixtures.js';

describe('SecretsService', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  let resolve: Resolve;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
    resolve = resolverOf(platform);
  });
  after(() => platform.close());

  const secrets = () => platform.grpc.secrets;
  const asOwner = () => inOrg(tenant.owner, tenant.org.id);
  const asAdmin = () => inOrg(tenant.admin, tenant.org.id);
  const asMember = () => inOrg(tenant.member, tenant.org.id);
  let counter = 0;
  const uniqueName = (prefix = 'API_KEY') => `${prefix}.${++counter}-${Date.now().toString(36)}`;

  describe('CreateSecret()', () => {
    it('creates version 1 and answers metadata only; the value comes back only through ResolveSecret', async () => {
      const name = uniqueName();
      const value = uniqueValue();
      const { secret } = await secrets().createSecret({ name, value, description: 'Stripe, live' }, asAdmin());
      expect(secret).to.include({ name, description: 'Stripe, live', version: 1, createdBy: tenant.admin.userId, updatedBy: tenant.admin.userId });
      expect(secret?.createTime).to.not.equal(undefined);
      expect(secret?.lastUsedTime).to.equal(undefined);
      expect(JSON.stringify(secret, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).to.not.contain(value);

      const { secret: read } = await secrets().getSecret({ name }, asMember());
      expect(read).to.deep.equal(secret);
      expect(await resolve(tenant.org.id, name)).to.include({ value, version: 1 });
    });

    it('refuses a second secret of the same name with ALREADY_EXISTS (SECRET_EXISTS) and keeps the first value', async () => {
      const name = uniqueName();
      const value = uniqueValue();
      await secrets().createSecret({ name, value }, asOwner());
      const error = await expectRpcError(secrets().createSecret({ name, value: uniqueValue() }, asOwner()), Code.AlreadyExists, 'SECRET_EXISTS');
      expect(error.rawMessage).to.contain(name);
      expect((await resolve(tenant.org.id, name)).value).to.equal(value);
    });

    it('accepts a 128-character name and a value of exactly 64 KiB, in any script', async () => {
      const name = `${'n'.repeat(120)}_.-XYZ09`;
      const value = 'é'.repeat(32 * 1024);
      await secrets().createSecret({ name, value }, asOwner());
      expect((await resolve(tenant.org.id, name)).value).to.equal(value);
    });

    const invalid: [string, { name: string; value: string; description?: string }, string][] = [
      ['an empty name', { name: '', value: 'v' }, 'name'],
      ['a 129-character name', { name: 'n'.repeat(129), value: 'v' }, 'name'],
      ['a name with a space', { name: 'API KEY', value: 'v' }, 'name'],
      ['a name with a slash', { name: 'a/b', value: 'v' }, 'name'],
      ['a name outside ASCII', { name: 'schlüssel', value: 'v' }, 'name'],
      ['an empty value', { name: 'EMPTY', value: '' }, 'value'],
      ['a value over 64 KiB', { name: 'BIG', value: 'x'.repeat(64 * 1024 + 1) }, 'value'],
      ['a value over 64 KiB as UTF-8', { name: 'BIG_UTF8', value: 'é'.repeat(32 * 1024 + 1) }, 'value'],
      ['a description over 500 characters', { name: 'DESCRIBED', value: 'v', description: 'd'.repeat(501) }, 'description'],
    ];
    for (const [what, request, field] of invalid) {
      it(`refuses ${what} with INVALID_ARGUMENT (INVALID_FIELD ${field})`, async () => {
        const error = await expectRpcError(secrets().createSecret(request, asOwner()), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal(field);
        await expectRpcError(secrets().getSecret({ name: request.name }, asOwner()), request.name === '' || field === 'name' ? Code.InvalidArgument : Code.NotFound);
      });
    }
  });

  describe('UpdateSecret()', () => {
    it('writes a new version, which ResolveSecret returns, and records who wrote it', async () => {
      const name = uniqueName();
      await secrets().createSecret({ name, value: uniqueValue('v1'), description: 'kept' }, asOwner());
      const v2 = uniqueValue('v2');
      const { secret } = await secrets().updateSecret({ name, value: v2 }, asAdmin());
      expect(secret).to.include({ name, version: 2, description: 'kept', createdBy: tenant.owner.userId, updatedBy: tenant.admin.userId });
      expect(await resolve(tenant.org.id, name)).to.include({ value: v2, version: 2 });
    });

    it('answers NOT_FOUND for a secret that does not exist, and INVALID_FIELD for an empty value', async () => {
      await expectRpcError(secrets().updateSecret({ name: uniqueName('MISSING'), value: 'v' }, asOwner()), Code.NotFound, 'NOT_FOUND');
      const name = uniqueName();
      await secrets().createSecret({ name, value: 'v' }, asOwner());
      const error = await expectRpcError(secrets().updateSecret({ name, value: '' }, asOwner()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('value');
    });
  });

  describe('RollbackSecret()', () => {
    it("makes an earlier version's value current as a new version, keeping every version", async () => {
      const name = uniqueName();
      const [v1, v2] = [uniqueValue('v1'), uniqueValue('v2')];
      await secrets().createSecret({ name, value: v1 }, asOwner());
      await secrets().updateSecret({ name, value: v2 }, asOwner());

      const { secret } = await secrets().rollbackSecret({ name, version: 1 }, asAdmin());
      expect(secret).to.include({ version: 3, updatedBy: tenant.admin.userId });
      expect(await resolve(tenant.org.id, name)).to.include({ value: v1, version: 3 });

      await secrets().rollbackSecret({ name, version: 2 }, asOwner());
      expect(await resolve(tenant.org.id, name)).to.include({ value: v2, version: 4 });
    });

    it('answers NOT_FOUND for a version that does not exist and INVALID_FIELD for version 0', async () => {
      const name = uniqueName();
      await secrets().createSecret({ name, value: 'v' }, asOwner());
      const error = await expectRpcError(secrets().rollbackSecret({ name, version: 2 }, asOwner()), Code.NotFound, 'NOT_FOUND');
      expect(error.rawMessage).to.contain('no version 2');
      expect(invalidFieldOf(await expectRpcError(secrets().rollbackSecret({ name, version: 0 }, asOwner()), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal(
        'version',
      );
      await expectRpcError(secrets().rollbackSecret({ name: uniqueName('MISSING'), version: 1 }, asOwner()), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('ListSecrets()', () => {
    it('lists every secret by name, page by page, metadata only', async () => {
      const listed = await orgWithRoles(platform.grpc);
      const names = ['charlie', 'alpha', 'echo', 'bravo', 'delta'];
      for (const name of names) await secrets().createSecret({ name, value: uniqueValue(name) }, inOrg(listed.owner, listed.org.id));

      const seen: string[] = [];
      let pageToken = '';
      do {
        const res = await secrets().listSecrets({ page: { pageSize: 2, pageToken } }, inOrg(listed.member, listed.org.id));
        expect(res.secrets.length).to.be.at.most(2);
        seen.push(...res.secrets.map((s) => s.name));
        pageToken = res.page?.nextPageToken ?? '';
      } while (pageToken !== '');
      expect(seen).to.deep.equal([...names].sort());
    });

    it('refuses a page token it did not issue', async () => {
      const token = Buffer.from(JSON.stringify({ key: 'a b', id: '0190aaaa-0000-7000-8000-000000000000' })).toString('base64url');
      await expectRpcError(secrets().listSecrets({ page: { pageToken: token } }, asOwner()), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });

  describe('DeleteSecret()', () => {
    it('deletes the secret with its versions; the name can then be used again', async () => {
      const name = uniqueName();
      await secrets().createSecret({ name, value: uniqueValue('old') }, asOwner());
      await secrets().updateSecret({ name, value: uniqueValue('older') }, asOwner());
      await secrets().deleteSecret({ name }, asAdmin());

      await expectRpcError(secrets().getSecret({ name }, asOwner()), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(resolve(tenant.org.id, name), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(secrets().deleteSecret({ name }, asOwner()), Code.NotFound, 'NOT_FOUND');

      const fresh = uniqueValue('new');
      const { secret } = await secrets().createSecret({ name, value: fresh }, asOwner());
      expect(secret?.version).to.equal(1);
      expect((await resolve(tenant.org.id, name)).value).to.equal(fresh);
    });
  });

  describe('roles', () => {
    it('lets a member list and read metadata but not create, update, roll back or delete', async () => {
      const name = uniqueName();
      const value = uniqueValue();
      await secrets().createSecret({ name, value }, asOwner());
      expect((await secrets().listSecrets({}, asMember())).secrets.map((s) => s.name)).to.include(name);
      expect((await secrets().getSecret({ name }, asMember())).secret?.name).to.equal(name);

      const denied = [
        secrets().createSecret({ name: uniqueName(), value: 'v' }, asMember()),
        secrets().updateSecret({ name, value: 'v' }, asMember()),
        secrets().rollbackSecret({ name, version: 1 }, asMember()),
        secrets().deleteSecret({ name }, asMember()),
      ];
      for (const call of denied) await expectRpcError(call, Code.PermissionDenied, 'ROLE_INSUFFICIENT');
      expect(await resolve(tenant.org.id, name)).to.include({ value, version: 1 });
    });
  });

  describe('ResolveSecret()', () => {
    it("sets the secret's last_used_time", async () => {
      const name = uniqueName();
      await secrets().createSecret({ name, value: 'v' }, asOwner());
      const before = Date.now();
      await resolve(tenant.org.id, name);
      const { secret } = await secrets().getSecret({ name }, asMember());
      const used = Number(secret!.lastUsedTime!.seconds) * 1000;
      expect(used).to.be.within(before - 2000, Date.now() + 1000);
    });

    it('refuses ids that are not UUIDs and a bad name with INVALID_FIELD', async () => {
      for (const [orgId, name, runId, field] of [
        ['not-a-uuid', 'NAME', undefined, 'org_id'],
        [tenant.org.id, 'bad name', undefined, 'name'],
        [tenant.org.id, 'NAME', 'run-1', 'run_id'],
      ] as const) {
        const error = await expectRpcError(resolve(orgId, name, runId), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal(field);
      }
    });
  });
});
