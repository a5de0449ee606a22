import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { expect } from 'chai';
import {
  Migration,
  createOrm,
  createTestDatabase,
  stopTestPostgres,
  tenantRlsSql,
  withScope,
  withTenant,
  withUser,
  type TestDatabase,
} from '../src/index.js';
import { expectRejection } from './expect-rejection.js';

after(stopTestPostgres);

type Note = { id: string; orgId: string; body: string };

const NoteSchema = new EntitySchema<Note>({
  name: 'Note',
  schema: 'notebook',
  tableName: 'notes',
  properties: {
    id: { type: 'uuid', primary: true },
    orgId: { type: 'uuid', fieldName: 'org_id' },
    body: { type: 'text' },
  },
});

class CreateNotes extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table notes (id uuid primary key, org_id uuid not null, body text not null)');
    this.addSql('create index notes_org_id_idx on notes (org_id)');
    tenantRlsSql('notebook', 'notes').forEach((sql) => this.addSql(sql));
  }
}

const orgA = randomUUID();
const orgB = randomUUID();

describe('tenant transactions over row-level security', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  const em = () => orm.em.fork();
  const bodies = (notes: Note[]) => notes.map((note) => note.body).sort();
  const addNote = (orgId: string, body: string) =>
    withTenant(em(), orgId, async (tx) => {
      tx.create(NoteSchema, { id: randomUUID(), orgId, body });
    });

  before(async () => {
    db = await createTestDatabase({ services: [{ schema: 'notebook', migrations: [{ name: '0001-notes', class: CreateNotes }] }] });
    // One connection, so every transaction below reuses the connection of the one before.
    orm = await createOrm({ url: db.appUrl, entities: [NoteSchema], poolMax: 1 });
    await addNote(orgA, 'a1');
    await addNote(orgA, 'a2');
    await addNote(orgB, 'b1');
  });

  after(async () => {
    await orm.close();
    await db.drop();
  });

  it('shows no rows to the app role outside any org', async () => {
    expect(await em().find(NoteSchema, {})).to.be.empty;
  });

  it("shows only the scoped org's rows", async () => {
    expect(bodies(await withTenant(em(), orgA, (tx) => tx.find(NoteSchema, {})))).to.deep.equal(['a1', 'a2']);
    expect(bodies(await withTenant(em(), orgB, (tx) => tx.find(NoteSchema, {})))).to.deep.equal(['b1']);
  });

  it("refuses to write a row into another org's data", async () => {
    const write = withTenant(em(), orgA, async (tx) => {
      tx.create(NoteSchema, { id: randomUUID(), orgId: orgB, body: 'smuggled' });
    });
    await expectRejection(write, /row-level security policy/);
    expect(bodies(await withTenant(em(), orgB, (tx) => tx.find(NoteSchema, {})))).to.deep.equal(['b1']);
  });

  it('does not leak the org into the next transaction on the same pooled connection', async () => {
    const inScope = await withTenant(em(), orgA, (tx) => backendAndOrg(tx));
    const afterwards = await em().transactional((tx) => backendAndOrg(tx));
    expect(afterwards.pid).to.equal(inScope.pid);
    expect(inScope.org).to.equal(orgA);
    expect(afterwards.org).to.equal(null);
  });

  it('ends the scope when the work fails', async () => {
    await expectRejection(withTenant(em(), orgA, () => Promise.reject(new Error('work failed'))), /work failed/);
    expect((await backendAndOrg(em())).org).to.equal(null);
  });

  it('sets the user for withUser and both ids for withScope', async () => {
    const userId = randomUUID();
    expect(await withUser(em(), userId, (tx) => scopeOf(tx))).to.deep.equal({ org: null, user: userId });
    expect(await withScope(em(), { orgId: orgB, userId }, (tx) => scopeOf(tx))).to.deep.equal({ org: orgB, user: userId });
  });

  it('rejects ids that are not UUIDs before touching the database', async () => {
    const untouchable = new Proxy({} as EntityManager, {
      get: () => expect.fail('the entity manager was used'),
    });
    const error = await expectRejection(withTenant(untouchable, "' or true --", async () => []), /orgId must be a UUID/);
    expect(error).to.be.instanceOf(TypeError);
    await expectRejection(withUser(untouchable, 'nobody', async () => []), /userId must be a UUID/);
  });

  it('refuses to start inside another transaction, where the scope would outlive it', async () => {
    const nested = em().transactional((tx) => withTenant(tx, orgA, async () => 'nested'));
    await expectRejection(nested, /must open its own transaction/);
  });
});

async function backendAndOrg(em: EntityManager): Promise<{ pid: number; org: string | null }> {
  const [row] = await em.execute('select pg_backend_pid() as pid, app.current_org_id() as org');
  return { pid: row.pid, org: row.org };
}

async function scopeOf(em: EntityManager): Promise<{ org: string | null; user: string | null }> {
  const [row] = await em.execute('select app.current_org_id() as org, app.current_user_id() as "user"');
  return { org: row.org, user: row.user };
}
