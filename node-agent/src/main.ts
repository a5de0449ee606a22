import { currentPathInputs } from './agent-paths.js';
import { SettingsError } from './agent-settings.js';
import { AGENT_VERSION } from './agent-version.js';
import { EXIT, printLine, UsageError, type CliCommand, type CliContext } from './cli-command.js';
import { doctorCommand } from './commands/doctor-command.js';
import { pairCommand } from './commands/pair-command.js';
import { startCommand } from './commands/start-command.js';
import { statusCommand } from './commands/status-command.js';
import { unpairCommand } from './commands/unpair-command.js';
import { PairingFileError } from './pairing-store.js';

const COMMANDS: readonly CliCommand[] = [pairCommand, startCommand, statusCommand, doctorCommand, unpairCommand];

const USAGE = `foundation-agent ${AGENT_VERSION} — run Foundation's coding agents (Codex, Claude Code, OpenCode) on this machine

Usage:
${COMMANDS.map((command) => `  foundation-agent ${command.name.padEnd(8)}${command.summary}`).join('\n')}
  foundation-agent <command> --help   help for one command
  foundation-agent --version

Environment (a flag, where there is one, wins):
  FOUNDATION_AGENT_SERVER             the server \`pair\` uses without --server
  FOUNDATION_AGENT_CAPACITY           tasks run at once, 1 to 64 (default 4)
  FOUNDATION_AGENT_WORKSPACE_ROOT     where task directories are created (default <data dir>/workspaces)
  FOUNDATION_AGENT_LOG_LEVEL          fatal, error, warn, info, debug, trace, silent (default info)
  FOUNDATION_AGENT_CONFIG_DIR         where the pairing is stored (default $XDG_CONFIG_HOME/foundation-agent,
                                      ~/.config/foundation-agent; macOS ~/Library/Application Support/foundation-agent)
  FOUNDATION_AGENT_DATA_DIR           the event outbox and daemon status (default $XDG_DATA_HOME/foundation-agent,
                                      ~/.local/share/foundation-agent; macOS <config dir>/data)
  FOUNDATION_AGENT_OUTBOX_MAX_BYTES   unacknowledged event bytes one task may buffer before its turn fails
                                      (default 67108864, 64 MiB)
  FOUNDATION_AGENT_RECONNECT_MAX_DELAY_MS  longest wait between connection attempts (default 30000)

Exit codes: 0 success, 1 failure, 2 bad command line or setting, 3 not paired, 4 credential refused
(the node was revoked: pair again).`;

/** Runs one command line and returns the process's exit code. */
async function runCli(argv: string[], context: CliContext): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    printLine(name === undefined ? context.stderr : context.stdout, USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    printLine(context.stdout, AGENT_VERSION);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    printLine(context.stderr, `unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    printLine(context.stdout, command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(args, context);
  } catch (error) {
    if (error instanceof UsageError) {
      printLine(context.stderr, `${error.message}\n\n${command.usage}`);
      return EXIT.usage;
    }
    if (error instanceof SettingsError) {
      printLine(context.stderr, error.message);
      return EXIT.usage;
    }
    if (error instanceof PairingFileError) {
      printLine(context.stderr, error.message);
      return EXIT.failed;
    }
    printLine(context.stderr, `foundation-agent ${name} failed: ${(error as Error).message}`);
    return EXIT.failed;
  }
}

process.exitCode = await runCli(process.argv.slice(2), {
  paths: currentPathInputs(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
