import { parseArgs } from 'node:util';
import { ConfigError, createLogger, type Logger } from '@foundation/kit';
import { readConfig, type FoundationConfig } from './config.js';
import { RedisServerMissingError } from './redis-server-process.js';
import { TARGETS } from './targets.js';
import { runMigrate, runRotateMasterKey, runStart } from './commands.js';

const USAGE = `foundation — run the Foundation platform

Usage:
  foundation start [--target=all|<targets>]   run services (default: all, with embedded PostgreSQL and Redis);
                                             targets: ${TARGETS.join(', ')}, comma-separated
  foundation migrate                          apply database migrations as the schema owner (DATABASE_URL)
  foundation secrets rotate-master-key        new master key; re-wrap every org's secret data key
  foundation <command> --help                 help for one command

Configuration is read from FOUNDATION_* environment variables; see the README's configuration table.`;

/** Commands that group subcommands, as `foundation <group> <subcommand>`. */
const GROUP_USAGE: Record<string, string> = {
  secrets: `foundation secrets <subcommand>

Subcommands:
  rotate-master-key   add a master key to the keyring file, make it active, re-wrap every data key with it

foundation secrets <subcommand> --help for one of them.`,
};

interface Command {
  usage: string;
  run(config: FoundationConfig, target: string, log: Logger): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  start: {
    usage: `foundation start [--target=all|${TARGETS.join('|')}[,…]]

Runs the given services in this process on FOUNDATION_HOST:FOUNDATION_PORT (gRPC, gRPC-Web and Connect on
one port). Without DATABASE_URL / FOUNDATION_DATABASE_APP_URL it starts an embedded PostgreSQL, and without
FOUNDATION_REDIS_URL a redis-server from PATH, both keeping data under FOUNDATION_DATA_DIR (.foundation).
Pending migrations are applied first (FOUNDATION_MIGRATE_ON_START=false to skip). Ctrl-C stops cleanly.

  --target  all (default) or a comma-separated list of: auth, org, secrets, workflow, worker (the
            workflow worker). Services not run here are reached at FOUNDATION_AUTH_URL / FOUNDATION_ORG_URL /
            FOUNDATION_SECRETS_URL / FOUNDATION_WORKFLOW_URL. The secrets service needs
            FOUNDATION_MASTER_KEY_FILE or FOUNDATION_MASTER_KEY with your own database.`,
    run: runStart,
  },
  migrate: {
    usage: `foundation migrate

Applies every service's pending migrations as the schema owner. With DATABASE_URL it migrates that
database; without it, the embedded PostgreSQL under FOUNDATION_DATA_DIR.`,
    run: (config, _target, log) => runMigrate(config, log),
  },
  'secrets rotate-master-key': {
    usage: `foundation secrets rotate-master-key

Generates a new master key, adds it to the keyring file (FOUNDATION_MASTER_KEY_FILE, or
<FOUNDATION_DATA_DIR>/master-keys.json with the embedded database) and makes it active, then re-wraps
every organization's data key with it, one transaction each, printing a line per key. Services may keep
running: they re-read the keyring file when they meet the new key id, and no secret value changes. Older
keys stay in the file. Connects as the schema owner (DATABASE_URL); with the embedded database, stop
\`foundation start\` first. Exits 1 when a data key could not be re-wrapped. See docs/secrets.md.`,
    run: (config, _target, log) => runRotateMasterKey(config, log),
  },
};

async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const group = GROUP_USAGE[name];
  if (group) {
    const [subcommand, ...options] = rest;
    if (!subcommand || subcommand === 'help' || subcommand === '--help' || subcommand === '-h') {
      console.log(group);
      return subcommand ? 0 : 2;
    }
    name = `${name} ${subcommand}`;
    rest = options;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { target: { type: 'string', default: 'all' }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(command.usage);
    return 0;
  }
  const config = readConfig(process.env);
  const log = createLogger({ level: config.FOUNDATION_LOG_LEVEL, target: name === 'start' ? values.target : name });
  return command.run(config, values.target, log);
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
