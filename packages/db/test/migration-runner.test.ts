import { expect } from 'chai';
import { escapeIdentifier as id } from 'pg';
import { withSqlClient } from '../src/sql-client.js';
import {
  Migration,
  createTestDatabase,
  runMigrations,
  stopTestPostgres,
  type ServiceMigrations,
  type TestDatabase,
} from '../src/index.js';
import { expectRejection } from './expect-rejection.js';

after(stopTestPostgres);

class CreateWidgets extends Migration {
  override async up(): Promise<void> {
    // Unqualified on purpose: the runner puts the service's schema first on the search_path.
    this.addSql('create table widgets (id serial primary key, name text not null)');
  }
}

class AddWidgetColour extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table widgets add column colour text');
  }
}

class BrokenMigration extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table gadgets (id int)');
    this.addSql('select * from no_such_table');
  }
}

const catalog = (migrations: ServiceMigrations['migrations']): ServiceMigrations => ({ schema: 'catalog', migrations });
const first = { name: '0001-create-widgets', class: CreateWidgets };
const second = { name: '0002-add-widget-colour', class: AddWidgetColour };

describe('runMigrations()', () => {
  let db: TestDatabase;
  const run = (services: ServiceMigrations[]) => runMigrations(db.ownerUrl, services, { appRole: db.appRole });
  const asOwner = (sql: string) => withSqlClient(db.ownerUrl, async (client) => (await client.query(sql)).rows);
  const asApp = (sql: string) => withSqlClient(db.appUrl, (client) => client.query(sql));

  before(async () => {
    db = await createTestDatabase({ services: [catalog([first])] });
  });

  after(() => db.drop());

  it("creates the service's schema, owned by the owner role, and records the migration inside it", async () => {
    const [schema] = await asOwner("SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'catalog'");
    expect(schema).to.deep.equal({ owner: db.ownerRole });
    expect(await asOwner('SELECT name FROM catalog.mikro_orm_migrations')).to.deep.equal([{ name: first.name }]);
    expect(await asOwner("SELECT 1 FROM pg_tables WHERE tablename = 'widgets' AND schemaname <> 'catalog'")).to.be.empty;
  });

  it('applies nothing when run again', async () => {
    expect(await run([catalog([first])])).to.deep.equal([]);
    expect(await asOwner('SELECT name FROM catalog.mikro_orm_migrations')).to.have.length(1);
  });

  it('applies only the migrations added since the last run', async () => {
    const messages: string[] = [];
    const applied = await runMigrations(db.ownerUrl, [catalog([first, second])], {
      appRole: db.appRole,
      log: (message) => messages.push(message),
    });
    expect(applied).to.deep.equal([{ schema: 'catalog', name: second.name }]);
    expect(messages).to.deep.equal([`catalog: applied ${second.name}`]);
  });

  it('applies none of a run when one migration fails', async () => {
    const broken = { name: '0003-broken', class: BrokenMigration };
    await expectRejection(run([catalog([first, second, broken])]), /no_such_table/);
    expect(await asOwner("SELECT 1 FROM pg_tables WHERE tablename = 'gadgets'")).to.be.empty;
    expect(await asOwner('SELECT name FROM catalog.mikro_orm_migrations')).to.have.length(2);
  });

  it('refuses to run as a superuser', async () => {
    await expectRejection(
      runMigrations(db.superuserUrl, [catalog([first])], { appRole: db.appRole }),
      /not as a superuser/,
    );
  });

  it('rejects schema names that are shared, reserved or need quoting', async () => {
    for (const schema of ['public', 'app', 'pg_widgets', 'Catalog', 'cat-alog']) {
      await expectRejection(run([{ schema, migrations: [] }]), /cannot be a service schema/);
    }
    await expectRejection(run([catalog([]), catalog([])]), /two services claim the schema "catalog"/);
  });

  describe('the app role', () => {
    it("reads and writes the service's tables and uses their sequences", async () => {
      await asApp("INSERT INTO catalog.widgets (name, colour) VALUES ('bolt', 'grey')");
      const { rows } = await asApp("UPDATE catalog.widgets SET colour = 'red' RETURNING name, colour");
      expect(rows).to.deep.equal([{ name: 'bolt', colour: 'red' }]);
      await asApp('DELETE FROM catalog.widgets');
    });

    it('cannot create tables in the service schema', async () => {
      await expectRejection(asApp('CREATE TABLE catalog.intruder (id int)'), /permission denied for schema catalog/);
    });

    it('cannot read or rewrite the migration history', async () => {
      await expectRejection(asApp('SELECT * FROM catalog.mikro_orm_migrations'), /permission denied/);
      await expectRejection(asApp('DELETE FROM catalog.mikro_orm_migrations'), /permission denied/);
    });

    it('cannot become the owner role', async () => {
      await expectRejection(asApp(`SET ROLE ${id(db.ownerRole)}`), /permission denied to set role/);
    });

    it('is no superuser and cannot bypass row-level security', async () => {
      const { rows } = await asApp('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user');
      expect(rows).to.deep.equal([{ rolsuper: false, rolbypassrls: false }]);
    });

    it('may call the scope functions', async () => {
      const { rows } = await asApp('SELECT app.current_org_id() AS org, app.current_user_id() AS "user"');
      expect(rows).to.deep.equal([{ org: null, user: null }]);
    });
  });
});
