import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { withSqlClient } from '../src/sql-client.js';
import { startEmbeddedPostgres } from '../src/index.js';

describe('startEmbeddedPostgres()', () => {
  let parent: string;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'foundation-db-test-'));
    // mkdtemp makes it 0700; the server may run as the `postgres` OS user, which must traverse it.
    await chmod(parent, 0o755);
  });

  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('keeps data across a stop and a start of a persistent server', async () => {
    const dataDir = join(parent, 'data');
    const first = await startEmbeddedPostgres({ dataDir, persistent: true });
    await withSqlClient(first.superuserUrl, async (client) => {
      await client.query('CREATE TABLE kept (value text)');
      await client.query("INSERT INTO kept VALUES ('survives')");
    });
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, persistent: true });
    try {
      expect(second.superuserUrl).to.equal(first.superuserUrl.replace(`:${first.port}/`, `:${second.port}/`));
      const { rows } = await withSqlClient(second.superuserUrl, (client) => client.query('SELECT value FROM kept'));
      expect(rows).to.deep.equal([{ value: 'survives' }]);
    } finally {
      await second.stop();
    }
  });

  it('deletes the data directory and its password file when not persistent', async () => {
    const dataDir = join(parent, 'data');
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    expect(existsSync(join(dataDir, 'PG_VERSION'))).to.equal(true);
    await server.stop();
    expect(existsSync(dataDir)).to.equal(false);
    expect(existsSync(`${dataDir}.password`)).to.equal(false);
  });

  it("reports the server's last log lines when it cannot start", async () => {
    const busy = await listenOnSomePort();
    try {
      const port = (busy.address() as { port: number }).port;
      const error = await startEmbeddedPostgres({ dataDir: join(parent, 'data'), port, persistent: false }).then(
        () => expect.fail('the server started on a port that is in use'),
        (e: unknown) => e as Error,
      );
      expect(error.message).to.contain(`on port ${port}`).and.to.contain('Address already in use');
      expect(existsSync(join(parent, 'data'))).to.equal(false);
    } finally {
      busy.close();
    }
  });

  it('says which directory to fix when the postgres OS user could not reach the data directory', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const closed = join(parent, 'closed');
    await mkdir(closed, { mode: 0o700 });
    const start = startEmbeddedPostgres({ dataDir: join(closed, 'data'), persistent: false });
    await start.then(
      () => expect.fail('started below a directory the postgres user cannot traverse'),
      (e: unknown) => expect((e as Error).message).to.contain(`${closed} is not traversable`),
    );
  });
});

function listenOnSomePort(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
