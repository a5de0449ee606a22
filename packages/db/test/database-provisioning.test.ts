import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { escapeIdentifier as id } from 'pg';
import { withSqlClient } from '../src/sql-client.js';
import { expectRejection } from './expect-rejection.js';
import { createTestDatabase, provisionDatabase, stopTestPostgres, type ProvisioningOptions } from '../src/index.js';

after(stopTestPostgres);

describe('provisionDatabase()', () => {
  let superuserUrl: string;
  let options: Required<ProvisioningOptions>;

  before(async () => {
    ({ superuserUrl } = await createTestDatabase({ services: [] }));
    const suffix = randomBytes(4).toString('hex');
    options = {
      database: `provisioned_${suffix}`,
      ownerRole: `owner_${suffix}`,
      ownerPassword: randomBytes(12).toString('hex'),
      appRole: `app_${suffix}`,
      appPassword: randomBytes(12).toString('hex'),
    };
  });

  const roleAttributes = (role: string) =>
    withSqlClient(superuserUrl, async (client) => {
      const { rows } = await client.query(
        `SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1`,
        [role],
      );
      return rows[0];
    });

  it('creates restricted login roles and a database owned by the owner role', async () => {
    const { ownerUrl, appUrl } = await provisionDatabase(superuserUrl, options);
    const restricted = { rolcanlogin: true, rolsuper: false, rolbypassrls: false, rolcreatedb: false, rolcreaterole: false };
    expect(await roleAttributes(options.ownerRole)).to.deep.equal(restricted);
    expect(await roleAttributes(options.appRole)).to.deep.equal(restricted);
    const owner = await withSqlClient(ownerUrl, async (client) => {
      const { rows } = await client.query(
        'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()',
      );
      return rows[0].owner;
    });
    expect(owner).to.equal(options.ownerRole);
    const current = await withSqlClient(appUrl, async (client) => (await client.query('SELECT current_user')).rows[0]);
    expect(current).to.deep.equal({ current_user: options.appRole });
  });

  it('can run again, and gives drifted roles their restrictions and passwords back', async () => {
    await withSqlClient(superuserUrl, async (client) => {
      await client.query(`ALTER ROLE ${id(options.appRole)} BYPASSRLS CREATEDB PASSWORD 'drifted'`);
      await client.query(`GRANT ${id(options.ownerRole)} TO ${id(options.appRole)}`);
    });
    const { appUrl } = await provisionDatabase(superuserUrl, options);
    expect(await roleAttributes(options.appRole)).to.include({ rolbypassrls: false, rolcreatedb: false });
    const setRole = withSqlClient(appUrl, (client) => client.query(`SET ROLE ${id(options.ownerRole)}`));
    await expectRejection(setRole, /permission denied to set role/);
  });

  it('leaves the app role unable to create anything in the public schema', async () => {
    const { appUrl } = await provisionDatabase(superuserUrl, options);
    const create = withSqlClient(appUrl, (client) => client.query('CREATE TABLE public.intruder (id int)'));
    await expectRejection(create, /permission denied for schema public/);
  });
});
