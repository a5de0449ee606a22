import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import {
  Migration,
  callTenantFunction,
  createSqlPool,
  createTestDatabase,
  querySql,
  stopTestPostgres,
  tenantFunctionSql,
  tenantRlsSql,
  withTenantSql,
  type TestDatabase,
} from '../src/index.js';
import { expectRejection } from './expect-rejection.js';

after(stopTestPostgres);

class CreateNotes extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table notes (id uuid primary key, org_id uuid not null, label text not null)');
    this.addSql('create index notes_org_id_idx on notes (org_id)');
    tenantRlsSql('notebook', 'notes').forEach((sql) => this.addSql(sql));
    this.addSql(
      tenantFunctionSql({
        name: 'notebook.labels',
        params: '',
        returns: 'setof text',
        body: 'return query select n.label from notebook.notes n order by n.label;',
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'notebook.add_note',
        params: 'id uuid, org_id_written uuid, label text',
        returns: 'setof notebook.notes',
        body: `return query insert into notebook.notes (id, org_id, label)
          values (add_note.id, add_note.org_id_written, add_note.label) returning *;`,
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'notebook.relabel',
        params: 'id uuid, label text',
        returns: 'boolean',
        body: 'update notebook.notes n set label = relabel.label where n.id = relabel.id; return found;',
      }),
    );
  }
}

const orgA = randomUUID();
const orgB = randomUUID();

describe('tenant functions (one round trip under row-level security)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const labels = async (orgId: string) => (await callTenantFunction<{ labels: string }>(pool, orgId, 'notebook.labels', [])).map((r) => r.labels);
  const add = (orgId: string, label: string, writtenOrg = orgId) => callTenantFunction(pool, orgId, 'notebook.add_note', [randomUUID(), writtenOrg, label]);

  before(async () => {
    db = await createTestDatabase({ services: [{ schema: 'notebook', migrations: [{ name: '0001-notes', class: CreateNotes }] }] });
    // One connection, so every call below reuses the connection of the one before.
    pool = createSqlPool(db.appUrl, 1);
    await add(orgA, 'a1');
    await add(orgB, 'b1');
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it("shows each org only its own rows, on a connection the other org's call used just before", async () => {
    expect(await labels(orgA)).to.deep.equal(['a1']);
    expect(await labels(orgB)).to.deep.equal(['b1']);
  });

  it('leaves no org set on the pooled connection after the call: outside one, nothing is visible', async () => {
    await labels(orgA);
    expect(await querySql(pool, 'select label from notebook.notes')).to.deep.equal([]);
    expect(await querySql(pool, "select current_setting('app.org_id', true) as org")).to.deep.equal([{ org: '' }]);
  });

  it('refuses to write a row into another org (WITH CHECK), writing nothing', async () => {
    const error = await expectRejection(add(orgA, 'sneaky', orgB), /row-level security/);
    expect((error as { code?: string }).code).to.equal('42501');
    expect(await labels(orgB)).to.deep.equal(['b1']);
  });

  it("changes no row of another org: the other org's rows are not there for it", async () => {
    const [note] = await withTenantSql(pool, orgB, (tx) => tx.query<{ id: string }>('select id from notebook.notes'));
    expect(await callTenantFunction(pool, orgA, 'notebook.relabel', [note!.id, 'taken'])).to.deep.equal([{ relabel: false }]);
    expect(await labels(orgB)).to.deep.equal(['b1']);
    expect(await callTenantFunction(pool, orgB, 'notebook.relabel', [note!.id, 'b2'])).to.deep.equal([{ relabel: true }]);
    expect(await labels(orgB)).to.deep.equal(['b2']);
  });

  it('refuses an org id that is not a UUID, and a function name that is not schema.name, before touching the database', async () => {
    const badOrg = await expectRejection(callTenantFunction(pool, "x'; drop table notebook.notes; --", 'notebook.labels', []), /must be a UUID/);
    expect(badOrg).to.be.instanceOf(TypeError);
    const badName = await expectRejection(callTenantFunction(pool, orgA, 'notebook.labels(); drop table notebook.notes; --', []), /schema\.name/);
    expect(badName).to.be.instanceOf(TypeError);
  });
});
