import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Code } from '@connectrpc/connect';
import { ConfigError } from '@foundation/kit';
import {
  createTestKeyringFile,
  expectRpcError,
  inOrg,
  orgWithRoles,
  signUp,
  startTestPlatform,
  uniqueSlug,
  withDatabase,
  type TestAccount,
  type TestPlatform,
} from '@foundation/testing';
import { expect } from 'chai';
import { masterKeyId, readKeyringFile } from '../src/keyring-file.js';
import { rotateMasterKey, type MasterKeyRotationReport } from '../src/master-key-rotation.js';
import { errorLogLines, resolverOf, uniqueValue } from './secrets-fixtures.js';

/** A secret as the test wrote it: where it lives and what it must resolve to. */
interface Written {
  orgId: string;
  name: string;
  value: string;
}

describe('foundation secrets rotate-master-key', () => {
  let platform: TestPlatform;
  /** A second service on the same database and keyring file, started before the rotation. */
  let bystander: TestPlatform;
  let owner: TestAccount;
  /** Resolved before and during the rotation, so both services have their data keys in memory. */
  const warm: Written[] = [];
  /** Never resolved until after the rotation: the bystander must unwrap it with the new key. */
  let cold: Written;

  async function writeInNewOrg(name = 'TOKEN', on = platform): Promise<Written> {
    const { org } = await on.grpc.org.createOrg({ name: 'Rotation', slug: uniqueSlug('rotation') }, owner.as);
    const value = uniqueValue(name);
    await on.grpc.secrets.createSecret({ name, value }, inOrg(owner, org!.id));
    return { orgId: org!.id, name, value };
  }

  const dataKeyWrappers = async () =>
    (await withDatabase(platform, 'superuser', (db) => db.query('select distinct master_key_id from secrets.data_keys order by 1'))).rows.map(
      (r) => r.master_key_id as string,
    );

  const rotate = (progress: string[] = [], ownerUrl = platform.database.ownerUrl) =>
    rotateMasterKey({ ownerUrl, keyringFile: platform.masterKeyFile!, progress: (line) => progress.push(line) });

  before(async () => {
    platform = await startTestPlatform();
    owner = await signUp(platform.grpc);
    for (let i = 0; i < 3; i++) warm.push(await writeInNewOrg('TOKEN'), await writeInNewOrg('WEBHOOK'));
    cold = await writeInNewOrg('COLD');
    bystander = await startTestPlatform({ database: platform.database, env: { FOUNDATION_MASTER_KEY_FILE: platform.masterKeyFile! } });
    for (const secret of warm) expect((await resolverOf(bystander)(secret.orgId, secret.name)).value).to.equal(secret.value);
  });
  after(async () => {
    await bystander?.close();
    await platform?.close();
  });

  describe('with services running', () => {
    let report: MasterKeyRotationReport;
    let previousKeyId: string;
    const progress: string[] = [];
    let reads = 0;
    const writtenDuring: Written[] = [];

    before(async () => {
      previousKeyId = (await readKeyringFile(platform.masterKeyFile!)).activeKeyId;
      let rotating = true;
      const readers = [platform, bystander].map(async (service) => {
        const resolve = resolverOf(service);
        while (rotating) {
          for (const secret of warm) {
            expect((await resolve(secret.orgId, secret.name)).value).to.equal(secret.value);
            reads += 1;
          }
        }
      });
      const writer = (async () => {
        while (rotating) writtenDuring.push(await writeInNewOrg('DURING'));
      })();
      // Let reads and writes get going, then rotate under them.
      await new Promise((resolve) => setTimeout(resolve, 200));
      try {
        report = await rotate(progress);
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        rotating = false;
      }
      await Promise.all([...readers, writer]);
    });

    it('serves every read during the rotation', () => {
      expect(reads).to.be.greaterThan(warm.length * 2);
      expect(writtenDuring.length).to.be.greaterThan(0);
    });

    it('adds a new active key to the keyring file, keeps the old one, and keeps the file private', async () => {
      const keyring = await readKeyringFile(platform.masterKeyFile!);
      expect(keyring.activeKeyId).to.equal(report.activeKeyId).and.not.equal(previousKeyId);
      expect([...keyring.keys.keys()]).to.have.members([previousKeyId, report.activeKeyId]);
      expect(masterKeyId(keyring.keys.get(report.activeKeyId)!)).to.equal(report.activeKeyId);
      expect((await stat(platform.masterKeyFile!)).mode & 0o777).to.equal(0o600);
    });

    it('leaves every data key wrapped by the new key, including those created during the rotation', async () => {
      expect(await dataKeyWrappers()).to.deep.equal([report.activeKeyId]);
      expect(report.failed).to.equal(0);
      expect(report.rewrapped).to.be.at.least(warm.length + 1);
    });

    it('prints a line per step, naming keys and orgs but never a key', async () => {
      expect(progress[0]).to.contain(`master key ${report.activeKeyId} added`).and.contain(`previous: ${previousKeyId}`);
      expect(progress.filter((line) => / re-wrapped from /.test(line))).to.have.length(report.rewrapped);
      expect(progress.at(-1)).to.equal(`done: ${report.rewrapped} data key(s) re-wrapped; every data key is wrapped by ${report.activeKeyId}`);
      const keyring = JSON.parse(await readFile(platform.masterKeyFile!, 'utf8')) as { keys: Record<string, string> };
      for (const key of Object.values(keyring.keys)) expect(progress.join('\n')).to.not.contain(key);
    });

    it('lets a service started before the rotation read a data key now wrapped by the new key: it re-reads the file', async () => {
      expect((await resolverOf(bystander)(cold.orgId, cold.name)).value).to.equal(cold.value);
    });

    it("wraps a new org's data key with the new key in a service that started with the old keyring", async () => {
      await writeInNewOrg('AFTER', bystander);
      expect(await dataKeyWrappers()).to.deep.equal([report.activeKeyId]);
    });

    it('lets a fresh service with only the keyring file read every secret', async () => {
      const fresh = await startTestPlatform({ database: platform.database, env: { FOUNDATION_MASTER_KEY_FILE: platform.masterKeyFile! } });
      try {
        const resolve = resolverOf(fresh);
        for (const secret of [...warm, cold, ...writtenDuring]) expect((await resolve(secret.orgId, secret.name)).value).to.equal(secret.value);
      } finally {
        await fresh.close();
      }
    });
  });

  // After the suite above: mocha runs a suite's own tests before its nested suites.
  describe('afterwards', () => {
    it('reports a data key whose master key is missing from the file, re-wraps the others, and counts the failure', async () => {
      const lost = await writeInNewOrg('LOST');
      await withDatabase(platform, 'superuser', (db) => db.query("update secrets.data_keys set master_key_id = 'mk-lost' where org_id = $1", [lost.orgId]));
      const progress: string[] = [];
      const report = await rotate(progress);
      expect(report.failed).to.equal(1);
      expect(progress.join('\n')).to.contain(`of org ${lost.orgId}: NOT re-wrapped: its master key mk-lost is not in the keyring file`);
      expect(await dataKeyWrappers()).to.have.members([report.activeKeyId, 'mk-lost']);
      await withDatabase(platform, 'superuser', (db) => db.query('delete from secrets.secrets where org_id = $1', [lost.orgId]));
      await withDatabase(platform, 'superuser', (db) => db.query('delete from secrets.data_keys where org_id = $1', [lost.orgId]));
    });

    it('refuses to run as the app role, which would see no data key, before touching the keyring file', async () => {
      const before = await readFile(platform.masterKeyFile!, 'utf8');
      let error: unknown;
      await rotate([], platform.database.appUrl).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.contain('DATABASE_URL');
      expect(await readFile(platform.masterKeyFile!, 'utf8')).to.equal(before);
    });

    it('leaves a service whose keyring lacks the key unable to read, with SECRET_UNDECRYPTABLE and an error log line', async () => {
      const unrelated = await createTestKeyringFile();
      const stranger = await startTestPlatform({ database: platform.database, env: { FOUNDATION_MASTER_KEY_FILE: unrelated.path } });
      try {
        const error = await expectRpcError(resolverOf(stranger)(cold.orgId, cold.name), Code.FailedPrecondition, 'SECRET_UNDECRYPTABLE');
        expect(error.rawMessage).to.contain('not in the keyring');
        expect(errorLogLines(stranger).map((line) => line.problem)).to.deep.equal(['master_key_unknown']);
      } finally {
        await stranger.close();
        await unrelated.remove();
      }
    });

    it('runs on a single FOUNDATION_MASTER_KEY, naming data keys by its SHA-256 id', async () => {
      const key = randomBytes(32);
      const single = await startTestPlatform({ env: { FOUNDATION_MASTER_KEY: key.toString('base64') } });
      try {
        const tenant = await orgWithRoles(single.grpc);
        const value = uniqueValue();
        await single.grpc.secrets.createSecret({ name: 'SINGLE', value }, inOrg(tenant.owner, tenant.org.id));
        expect((await resolverOf(single)(tenant.org.id, 'SINGLE')).value).to.equal(value);
        const wrappers = await withDatabase(single, 'superuser', (db) => db.query('select master_key_id from secrets.data_keys'));
        expect(wrappers.rows).to.deep.equal([{ master_key_id: masterKeyId(key) }]);
      } finally {
        await single.close();
      }
    });
  });
});
