import { parseArgs } from 'node:util';
import { ConfigError, createLogger } from '@foundation/kit';
import { readConfig } from './config.js';
import { RedisServerMissingError } from './redis-server-process.js';
import { runMigrate, runStart } from './commands.js';

const USAGE = `foundation — run the Foundation platform

Usage:
  foundation start [--target=all|auth|org[,…]]   run services (default: all, with embedded PostgreSQL and Redis)
  foundation migrate                             apply database migrations as the schema owner (DATABASE_URL)
  foundation <command> --help                    help for one command

Configuration is read from FOUNDATION_* environment variables; see the README's configuration table.`;

const COMMAND_USAGE: Record<string, string> = {
  start: `foundation start [--target=all|auth|org[,…]]

Runs the given services in this process on FOUNDATION_HOST:FOUNDATION_PORT (gRPC, gRPC-Web and Connect on
one port). Without DATABASE_URL / FOUNDATION_DATABASE_APP_URL it starts an embedded PostgreSQL, and without
FOUNDATION_REDIS_URL a redis-server from PATH, both keeping data under FOUNDATION_DATA_DIR (.foundation).
Pending migrations are applied first (FOUNDATION_MIGRATE_ON_START=false to skip). Ctrl-C stops cleanly.

  --target  all (default) or a comma-separated list of: auth, org. Services not run here are reached at
            FOUNDATION_AUTH_URL / FOUNDATION_ORG_URL.`,
  migrate: `foundation migrate

Applies every service's pending migrations as the schema owner. With DATABASE_URL it migrates that
database; without it, the embedded PostgreSQL under FOUNDATION_DATA_DIR.`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const usage = COMMAND_USAGE[command];
  if (!usage) {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { target: { type: 'string', default: 'all' }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const config = readConfig(process.env);
  const log = createLogger({ level: config.FOUNDATION_LOG_LEVEL, target: command === 'start' ? values.target : command });
  return command === 'start' ? runStart(config, values.target, log) : runMigrate(config, log);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const known = e instanceof ConfigError || e instanceof RedisServerMissingError || (e instanceof TypeError && 'code' in e && e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
    console.error(known ? `foundation: ${(e as Error).message}` : e);
    process.exitCode = known ? 2 : 1;
  },
);
