import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import {
  Migration,
  createSqlPool,
  createTestDatabase,
  isUniqueViolation,
  querySql,
  stopTestPostgres,
  tenantRlsSql,
  withSqlTransaction,
  withTenantSql,
  type TestDatabase,
} from '../src/index.js';
import { expectRejection } from './expect-rejection.js';

after(stopTestPostgres);

class CreateLedger extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table entries (id uuid primary key, org_id uuid not null, label text not null unique)');
    this.addSql('create index entries_org_id_idx on entries (org_id)');
    tenantRlsSql('ledger', 'entries').forEach((sql) => this.addSql(sql));
    // Not per org, for transactions outside any tenant scope.
    this.addSql('create table notes (label text primary key)');
  }
}

const orgA = randomUUID();
const orgB = randomUUID();

describe('tenant transactions on a plain pg pool', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const labels = (orgId: string) =>
    withTenantSql(pool, orgId, async (tx) => (await tx.query<{ label: string }>('select label from ledger.entries order by label')).map((r) => r.label));
  const add = (orgId: string, label: string) =>
    withTenantSql(pool, orgId, (tx) => tx.query('insert into ledger.entries (id, org_id, label) values ($1, $2, $3)', [randomUUID(), orgId, label]));

  before(async () => {
    db = await createTestDatabase({ services: [{ schema: 'ledger', migrations: [{ name: '0001-entries', class: CreateLedger }] }] });
    // One connection, so every transaction below reuses the connection of the one before.
    pool = createSqlPool(db.appUrl, 1);
    await add(orgA, 'a1');
    await add(orgB, 'b1');
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it("shows each org only its own rows, on a connection the other org's transaction used just before", async () => {
    expect(await labels(orgA)).to.deep.equal(['a1']);
    expect(await labels(orgB)).to.deep.equal(['b1']);
  });

  it('leaves no org set on the pooled connection after the transaction: outside one, nothing is visible', async () => {
    await labels(orgA);
    expect(await querySql(pool, 'select label from ledger.entries')).to.deep.equal([]);
  });

  it('refuses to write a row into another org (WITH CHECK)', async () => {
    const error = await expectRejection(
      withTenantSql(pool, orgA, (tx) => tx.query('insert into ledger.entries (id, org_id, label) values ($1, $2, $3)', [randomUUID(), orgB, 'sneaky'])),
      /row-level security/,
    );
    expect((error as { code?: string }).code).to.equal('42501');
    expect(await labels(orgB)).to.deep.equal(['b1']);
  });

  it('rolls back every statement of a failed transaction and reports a unique violation as one', async () => {
    const error = await expectRejection(
      withTenantSql(pool, orgA, async (tx) => {
        await tx.query('insert into ledger.entries (id, org_id, label) values ($1, $2, $3)', [randomUUID(), orgA, 'a2']);
        await tx.query('insert into ledger.entries (id, org_id, label) values ($1, $2, $3)', [randomUUID(), orgA, 'a1']);
      }),
      /duplicate key/,
    );
    expect(isUniqueViolation(error)).to.equal(true);
    expect(await labels(orgA)).to.deep.equal(['a1']);
  });

  it('refuses an org id that is not a UUID before touching the database', async () => {
    const error = await expectRejection(withTenantSql(pool, "x'; drop table ledger.entries; --", async () => undefined), /must be a UUID/);
    expect(error).to.be.instanceOf(TypeError);
  });

  describe('outside any tenant scope (withSqlTransaction)', () => {
    const notes = async () => (await querySql<{ label: string }>(pool, 'select label from ledger.notes order by label')).map((r) => r.label);

    it('commits its statements, with no org set even on the connection an org just used', async () => {
      await labels(orgA);
      const seen = await withSqlTransaction(pool, async (tx) => {
        await tx.query('insert into ledger.notes (label) values ($1)', ['n1']);
        return tx.query<{ label: string }>('select label from ledger.entries');
      });
      expect(seen).to.deep.equal([]);
      expect(await notes()).to.deep.equal(['n1']);
    });

    it('rolls back every statement of a failed transaction and gives the connection back', async () => {
      await expectRejection(
        withSqlTransaction(pool, async (tx) => {
          await tx.query('insert into ledger.notes (label) values ($1)', ['n2']);
          await tx.query('insert into ledger.notes (label) values ($1)', ['n1']);
        }),
        /duplicate key/,
      );
      expect(await notes()).to.deep.equal(['n1']);
    });
  });
});
