import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { SecretsService } from '@foundation/contracts';
import { expectRpcError, inOrg, orgWithRoles, startTestPlatform, withDatabase, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { errorLogLines, resolverOf, uniqueValue, type Resolve } from './secrets-fixtures.js';

/**
 * Someone with write access to the database alters or moves stored ciphertexts. Every such change must
 * fail loudly — FAILED_PRECONDITION (SECRET_UNDECRYPTABLE), an error log line and an audit row — and
 * never yield a value, neither the right one nor another secret's.
 */
describe('SecretsService', () => {
  let platform: TestPlatform;
  let resolve: Resolve;
  const values: string[] = [];
  before(async () => {
    platform = await startTestPlatform();
    resolve = resolverOf(platform);
  });
  after(() => platform.close());

  /** An org with the secrets `names`, each with a fresh value (remembered for the log check). */
  async function orgWithSecrets(...names: string[]): Promise<OrgWithRoles & { valueOf: Record<string, string> }> {
    const tenant = await orgWithRoles(platform.grpc);
    const valueOf: Record<string, string> = {};
    for (const name of names) {
      valueOf[name] = uniqueValue(name);
      values.push(valueOf[name]);
      await platform.grpc.secrets.createSecret({ name, value: valueOf[name] }, inOrg(tenant.owner, tenant.org.id));
    }
    return { ...tenant, valueOf };
  }

  const tamper = (sql: string, params: unknown[]) => withDatabase(platform, 'superuser', (db) => db.query(sql, params));
  const secretIdOf = async (orgId: string, name: string): Promise<string> =>
    (await tamper('select id from secrets.secrets where org_id = $1 and name = $2', [orgId, name])).rows[0].id;

  /** Resolving fails loudly: the reason, an error log line naming the problem, an audit row; no value anywhere. */
  async function expectLoudFailure(orgId: string, name: string, problem: string): Promise<void> {
    const runId = randomUUID();
    const errorsBefore = errorLogLines(platform).length;
    const error = await expectRpcError(resolve(orgId, name, runId), Code.FailedPrecondition, 'SECRET_UNDECRYPTABLE');
    const logged = errorLogLines(platform).slice(errorsBefore);
    expect(logged.map((line) => [line.problem, line.orgId, line.rpc])).to.deep.include([problem, orgId, `${SecretsService.typeName}/ResolveSecret`]);
    const audit = await tamper('select outcome, caller_service from secrets.secret_resolutions where run_id = $1', [runId]);
    expect(audit.rows).to.deep.equal([{ outcome: 'undecryptable', caller_service: 'execution' }]);
    for (const value of values) {
      expect(error.rawMessage).to.not.contain(value);
      for (const line of platform.logLines) expect(line).to.not.contain(value);
    }
  }

  it('refuses a ciphertext with a flipped byte, and is repaired by writing a new value', async () => {
    const tenant = await orgWithSecrets('FLIPPED');
    await tamper(
      `update secrets.secret_versions set ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)
       where secret_id = (select id from secrets.secrets where org_id = $1 and name = 'FLIPPED')`,
      [tenant.org.id],
    );
    await expectLoudFailure(tenant.org.id, 'FLIPPED', 'value_tampered');
    expect((await platform.grpc.secrets.getSecret({ name: 'FLIPPED' }, inOrg(tenant.member, tenant.org.id))).secret?.version).to.equal(1);

    const repaired = uniqueValue('repaired');
    await platform.grpc.secrets.updateSecret({ name: 'FLIPPED', value: repaired }, inOrg(tenant.owner, tenant.org.id));
    expect((await resolve(tenant.org.id, 'FLIPPED')).value).to.equal(repaired);
  });

  it("refuses a ciphertext copied onto another secret of the same org instead of returning the other secret's value", async () => {
    const tenant = await orgWithSecrets('SOURCE', 'TARGET');
    const [source, target] = [await secretIdOf(tenant.org.id, 'SOURCE'), await secretIdOf(tenant.org.id, 'TARGET')];
    await tamper(
      `update secrets.secret_versions t set nonce = s.nonce, ciphertext = s.ciphertext, data_key_id = s.data_key_id
       from secrets.secret_versions s where s.secret_id = $1 and t.secret_id = $2`,
      [source, target],
    );
    await expectLoudFailure(tenant.org.id, 'TARGET', 'value_tampered');
    expect((await resolve(tenant.org.id, 'SOURCE')).value).to.equal(tenant.valueOf.SOURCE);
  });

  it("refuses a ciphertext copied onto a secret of another org, with that org's data key", async () => {
    const [from, to] = [await orgWithSecrets('COPIED'), await orgWithSecrets('VICTIM')];
    await tamper(
      `update secrets.secret_versions t set nonce = s.nonce, ciphertext = s.ciphertext
       from secrets.secret_versions s where s.secret_id = $1 and t.secret_id = $2`,
      [await secretIdOf(from.org.id, 'COPIED'), await secretIdOf(to.org.id, 'VICTIM')],
    );
    await expectLoudFailure(to.org.id, 'VICTIM', 'value_tampered');
  });

  it("refuses a secret moved to another org, whether or not its data key moves with it", async () => {
    const source = await orgWithSecrets('MOVED');
    // The running service has the source org's data key in memory: a move must not reuse it.
    expect((await resolve(source.org.id, 'MOVED')).value).to.equal(source.valueOf.MOVED);
    const destination = await orgWithRoles(platform.grpc);
    const move = (table: string) => tamper(`update secrets.${table} set org_id = $2 where org_id = $1`, [source.org.id, destination.org.id]);
    await move('secrets');
    await move('secret_versions');
    await expectLoudFailure(destination.org.id, 'MOVED', 'data_key_missing');
    await move('data_keys');
    await expectLoudFailure(destination.org.id, 'MOVED', 'data_key_tampered');
  });

  it('refuses a wrapped data key that was altered, for reading and for writing', async () => {
    const tenant = await orgWithSecrets('WRAPPED');
    await tamper('update secrets.data_keys set wrapped_key = set_byte(wrapped_key, 3, get_byte(wrapped_key, 3) # 128) where org_id = $1', [tenant.org.id]);
    // A platform that never unwrapped this org's key: the one above has it in memory.
    const fresh = await startTestPlatform({ database: platform.database, env: { FOUNDATION_MASTER_KEY_FILE: platform.masterKeyFile! } });
    try {
      await expectRpcError(resolverOf(fresh)(tenant.org.id, 'WRAPPED'), Code.FailedPrecondition, 'SECRET_UNDECRYPTABLE');
      await expectRpcError(
        fresh.grpc.secrets.createSecret({ name: 'ANOTHER', value: uniqueValue() }, inOrg(tenant.owner, tenant.org.id)),
        Code.FailedPrecondition,
        'SECRET_UNDECRYPTABLE',
      );
      expect(errorLogLines(fresh).map((line) => [line.problem, line.rpc])).to.deep.equal([
        ['data_key_tampered', `${SecretsService.typeName}/ResolveSecret`],
        ['data_key_tampered', `${SecretsService.typeName}/CreateSecret`],
      ]);
      for (const value of values) for (const line of fresh.logLines) expect(line).to.not.contain(value);
    } finally {
      await fresh.close();
    }
  });
});
