import { randomUUID } from 'node:crypto';
import { orgWithRoles, type OrgWithRoles, startTestPlatform, type TestPlatform, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import type pg from 'pg';

/**
 * Row-level security is the backstop behind the tenant interceptor: these tests talk SQL straight to the
 * database, as the role the services run as, and check what PostgreSQL itself lets through.
 */
describe('OrgService', () => {
  let platform: TestPlatform;
  let a: OrgWithRoles;
  let b: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    [a, b] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
  });
  after(() => platform.close());

  const count = async (db: pg.Client, sql: string, params: unknown[] = []): Promise<number> =>
    (await db.query(`select count(*)::int as n from (${sql}) as rows`, params)).rows[0].n;

  /** Runs `statement` and returns the error PostgreSQL refused it with. */
  async function refusal(db: pg.Client, statement: string, params: unknown[]): Promise<Error & { code?: string }> {
    try {
      await db.query(statement, params);
    } catch (e) {
      return e as Error & { code?: string };
    }
    throw new Error(`expected PostgreSQL to refuse: ${statement}`);
  }

  const insertMembership = 'insert into org.memberships (org_id, user_id, email, display_name, role) values ($1, $2, $3, $4, $5)';

  describe('row-level security', () => {
    it('runs the services as a role that is not a superuser, not exempt from RLS and owns no org table', async () => {
      const role = await withDatabase(platform, 'app', async (db) => (await db.query('select current_user as name, rolsuper, rolbypassrls from pg_roles where rolname = current_user')).rows[0]);
      expect([role.rolsuper, role.rolbypassrls]).to.deep.equal([false, false]);
      const tables = await withDatabase(platform, 'superuser', async (db) =>
        (
          await db.query(`select c.relname, pg_get_userbyid(c.relowner) as owner, c.relrowsecurity, c.relforcerowsecurity
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'org' and c.relname in ('orgs', 'memberships') order by c.relname`)
        ).rows,
      );
      expect(tables).to.deep.equal(
        ['memberships', 'orgs'].map((relname) => ({ relname, owner: platform.database.ownerRole, relrowsecurity: true, relforcerowsecurity: true })),
      );
      expect(platform.database.ownerRole).to.not.equal(role.name);
    });

    it('shows no org and no membership to a connection that set no org, although rows exist', async () => {
      const existing = await withDatabase(platform, 'superuser', async (db) => [
        await count(db, 'select * from org.orgs where id in ($1, $2)', [a.org.id, b.org.id]),
        await count(db, 'select * from org.memberships where org_id in ($1, $2)', [a.org.id, b.org.id]),
      ]);
      expect(existing).to.deep.equal([2, 6]);
      const visible = await withDatabase(platform, 'app', async (db) => {
        const unset = [await count(db, 'select * from org.orgs'), await count(db, 'select * from org.memberships')];
        await db.query("select set_config('app.org_id', '', false)");
        const empty = [await count(db, 'select * from org.orgs'), await count(db, 'select * from org.memberships')];
        return { unset, empty };
      });
      expect(visible).to.deep.equal({ unset: [0, 0], empty: [0, 0] });
    });

    it('binds the schema owner as well (FORCE ROW LEVEL SECURITY)', async () => {
      const visible = await withDatabase(platform, 'owner', async (db) => [
        await count(db, 'select * from org.orgs'),
        await count(db, 'select * from org.memberships'),
      ]);
      expect(visible).to.deep.equal([0, 0]);
    });

    it('shows only the org in app.org_id and its memberships', async () => {
      const visible = await withDatabase(platform, 'app', async (db) => {
        await db.query("select set_config('app.org_id', $1, false)", [a.org.id]);
        return {
          orgs: (await db.query('select id from org.orgs')).rows.map((r) => r.id),
          members: (await db.query('select org_id, user_id from org.memberships order by created_at, user_id')).rows,
        };
      });
      expect(visible.orgs).to.deep.equal([a.org.id]);
      expect(visible.members).to.have.deep.members(
        [a.owner, a.admin, a.member].map((account) => ({ org_id: a.org.id, user_id: account.userId })),
      );
    });

    it('refuses to insert a membership into another org than app.org_id', async () => {
      const intruder = randomUUID();
      const error = await withDatabase(platform, 'app', async (db) => {
        await db.query("select set_config('app.org_id', $1, false)", [a.org.id]);
        // The same statement for the scoped org is allowed: the refusal below is the policy, not a grant.
        await db.query(insertMembership, [a.org.id, intruder, 'control@example.com', 'Control', 'member']);
        expect((await db.query('delete from org.memberships where org_id = $1 and user_id = $2', [a.org.id, intruder])).rowCount).to.equal(1);
        return refusal(db, insertMembership, [b.org.id, intruder, 'intruder@example.com', 'Intruder', 'owner']);
      });
      expect(error.code).to.equal('42501');
      expect(error.message).to.match(/row-level security/);
      const inB = await withDatabase(platform, 'superuser', (db) => count(db, 'select * from org.memberships where user_id = $1', [intruder]));
      expect(inB).to.equal(0);
    });

    it("neither changes, deletes nor moves rows into another org's", async () => {
      const outcome = await withDatabase(platform, 'app', async (db) => {
        await db.query("select set_config('app.org_id', $1, false)", [a.org.id]);
        return {
          promoted: (await db.query("update org.memberships set role = 'owner' where org_id = $1", [b.org.id])).rowCount,
          deleted: (await db.query('delete from org.memberships where org_id = $1', [b.org.id])).rowCount,
          renamed: (await db.query("update org.orgs set name = 'pwned' where id = $1", [b.org.id])).rowCount,
          moved: (await refusal(db, 'update org.memberships set org_id = $1 where org_id = $2 and user_id = $3', [b.org.id, a.org.id, a.member.userId])).code,
        };
      });
      expect(outcome).to.deep.equal({ promoted: 0, deleted: 0, renamed: 0, moved: '42501' });
      const rowsOfB = await withDatabase(platform, 'superuser', async (db) => ({
        name: (await db.query('select name from org.orgs where id = $1', [b.org.id])).rows[0].name,
        roles: (await db.query('select role from org.memberships where org_id = $1 order by created_at, user_id', [b.org.id])).rows.map((r) => r.role),
      }));
      expect(rowsOfB).to.deep.equal({ name: b.org.name, roles: ['owner', 'admin', 'member'] });
    });

    it('shows a user scope (app.user_id) only that user’s memberships and orgs, and no writes', async () => {
      const outcome = await withDatabase(platform, 'app', async (db) => {
        await db.query("select set_config('app.user_id', $1, false)", [a.member.userId]);
        return {
          orgs: (await db.query('select id from org.orgs')).rows.map((r) => r.id),
          members: (await db.query('select org_id, user_id from org.memberships')).rows,
          insert: (await refusal(db, insertMembership, [a.org.id, randomUUID(), 'x@example.com', 'X', 'owner'])).code,
          update: (await db.query("update org.memberships set role = 'owner' where user_id = $1", [a.member.userId])).rowCount,
        };
      });
      expect(outcome).to.deep.equal({
        orgs: [a.org.id],
        members: [{ org_id: a.org.id, user_id: a.member.userId }],
        insert: '42501',
        update: 0,
      });
    });
  });
});
