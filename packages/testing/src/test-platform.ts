import { randomBytes } from 'node:crypto';
import { createClient, type Client, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { ALL_SERVICE_MIGRATIONS, buildTargets, parseTargets, readConfig, startRedisServer, type RedisServerProcess, type RunningTargets } from '@foundation/cli';
import { AuthService, ExecutorService, MetaService, OrgService, PairingService, RunService, SecretsService, SessionService, WorkflowService } from '@foundation/contracts';
import { createTestDatabase, type TestDatabase } from '@foundation/db';
import { createLogger } from '@foundation/kit';
import { createTestKeyringFile } from './test-keyring-file.js';

export interface PlatformClients {
  auth: Client<typeof AuthService>;
  org: Client<typeof OrgService>;
  meta: Client<typeof MetaService>;
  secrets: Client<typeof SecretsService>;
  workflows: Client<typeof WorkflowService>;
  runs: Client<typeof RunService>;
  sessions: Client<typeof SessionService>;
  pairing: Client<typeof PairingService>;
  executors: Client<typeof ExecutorService>;
}

export interface TestPlatform {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** gRPC over HTTP/2, the way services and gRPC clients call. */
  grpc: PlatformClients;
  /** The Connect protocol over HTTP/1.1, the way curl and browsers call. */
  connect: PlatformClients;
  database: TestDatabase;
  /** The platform's private redis-server; tests may stop it to see the platform without Redis. */
  redis: RedisServerProcess;
  /** The key that signs this platform's service tokens, for tests that act as a Foundation service. */
  serviceKey: Uint8Array;
  /** The master keyring file the secrets service reads, for rotation tests; unset on FOUNDATION_MASTER_KEY. */
  masterKeyFile: string | undefined;
  /** Every JSON log line the platform wrote (none with `discardLogs`). */
  logLines: string[];
  running: RunningTargets;
  close(): Promise<void>;
}

export interface TestPlatformOptions {
  /**
   * Extra FOUNDATION_* settings, as environment variables. Without FOUNDATION_MASTER_KEY_FILE or
   * FOUNDATION_MASTER_KEY, the platform gets a keyring file of its own, removed on close.
   */
  env?: Record<string, string>;
  /** Reuse a database (for instance to restart the platform on the same data). */
  database?: TestDatabase;
  /**
   * Format the platform's log lines as usual but throw them away instead of keeping them in `logLines`,
   * for long runs such as the benchmark, where that array would grow without bound.
   */
  discardLogs?: boolean;
}

/**
 * The whole platform (`--target=all`) as `npm start` builds it, on port 0, with a fresh database on the
 * run's embedded PostgreSQL and a private redis-server, so suites never share state by accident.
 */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const database = options.database ?? (await createTestDatabase({ services: ALL_SERVICE_MIGRATIONS }));
  const redis = await startRedisServer();
  const keyring = options.env?.FOUNDATION_MASTER_KEY_FILE || options.env?.FOUNDATION_MASTER_KEY ? undefined : await createTestKeyringFile();
  const masterKeyFile = options.env?.FOUNDATION_MASTER_KEY_FILE ?? keyring?.path;
  const config = readConfig({
    FOUNDATION_PORT: '0',
    DATABASE_URL: database.ownerUrl,
    FOUNDATION_DATABASE_APP_URL: database.appUrl,
    FOUNDATION_REDIS_URL: redis.url,
    FOUNDATION_MIGRATE_ON_START: 'false',
    FOUNDATION_SHUTDOWN_GRACE: '2s',
    ...(keyring && { FOUNDATION_MASTER_KEY_FILE: keyring.path }),
    ...options.env,
  });
  const logLines: string[] = [];
  const write = options.discardLogs ? () => undefined : (line: string) => void logLines.push(line);
  const log = createLogger({ level: 'info', target: 'test', destination: { write } });
  const serviceKey = randomBytes(32);
  const running = await buildTargets(config, parseTargets('all'), { databaseAppUrl: database.appUrl, redisUrl: redis.url, serviceKey }, log);
  const address = await running.server.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    baseUrl,
    grpc: clientsOver(createGrpcTransport({ baseUrl })),
    connect: clientsOver(createConnectTransport({ baseUrl, httpVersion: '1.1' })),
    database,
    redis,
    serviceKey,
    masterKeyFile,
    logLines,
    running,
    close: async () => {
      await running.close();
      await redis.stop();
      await keyring?.remove();
      if (!options.database) await database.drop();
    },
  };
}

export function clientsOver(transport: Transport): PlatformClients {
  return {
    auth: createClient(AuthService, transport),
    org: createClient(OrgService, transport),
    meta: createClient(MetaService, transport),
    secrets: createClient(SecretsService, transport),
    workflows: createClient(WorkflowService, transport),
    runs: createClient(RunService, transport),
    pairing: createClient(PairingService, transport),
    executors: createClient(ExecutorService, transport),
    sessions: createClient(SessionService, transport),
  };
}
