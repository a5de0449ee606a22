import { join, resolve } from 'node:path';
import { configDir, dataDir } from '../agent-paths.js';
import { createAgentLogger } from '../agent-logger.js';
import { LOG_LEVELS, parseCapacityFlag, readAgentSettings } from '../agent-settings.js';
import { EXIT, parseFlags, printLine, UsageError, type CliCommand } from '../cli-command.js';
import { DaemonAlreadyRunningError, runDaemon } from '../daemon.js';
import { loadEngineAdapters } from '../engine-adapters.js';
import { PairingStore } from '../pairing-store.js';
import { StatusLine } from '../status-line.js';

export const startCommand: CliCommand = {
  name: 'start',
  summary: 'run the daemon in the foreground: connect, take tasks, run engines',
  usage: `foundation-agent start [--capacity <n>] [--workspace-root <dir>] [--log-level <level>]

Runs the node-agent in the foreground until Ctrl-C or SIGTERM: connects to the server it was paired with,
reports the engines found on PATH (codex, claude, opencode), and runs the tasks it is given, each in its
own directory under the workspace root. Structured JSON logs go to stdout; on a terminal, a status line
goes to stderr. A stop cancels the running turns and waits a few seconds for their last events to be
acknowledged; events not yet delivered stay on disk and are sent on the next start.

  --capacity        tasks run at once, 1 to 64; default FOUNDATION_AGENT_CAPACITY or 4
  --workspace-root  where task directories are created; default FOUNDATION_AGENT_WORKSPACE_ROOT or
                    <data dir>/workspaces
  --log-level       ${LOG_LEVELS.join(', ')}; default FOUNDATION_AGENT_LOG_LEVEL or info

Exit codes: 0 stopped by a signal, 1 failed, 3 not paired, 4 the server refused the credential (the node
was revoked: pair again).`,
  async run(args, context) {
    const flags = parseFlags(args, {
      capacity: { type: 'string' },
      'workspace-root': { type: 'string' },
      'log-level': { type: 'string' },
    });
    const settings = readAgentSettings(context.env);
    const capacity = flags.capacity === undefined ? settings.FOUNDATION_AGENT_CAPACITY : parseCapacityFlag(flags.capacity);
    const logLevel = flags['log-level'] ?? settings.FOUNDATION_AGENT_LOG_LEVEL;
    if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
    const pairing = await new PairingStore(configDir(context.paths)).read();
    if (pairing === undefined) {
      printLine(context.stderr, 'this machine is not paired: run `foundation-agent pair --server <url> --code <code>` first');
      return EXIT.notPaired;
    }
    const data = dataDir(context.paths);
    const workspaceRoot = resolve(flags['workspace-root'] ?? settings.FOUNDATION_AGENT_WORKSPACE_ROOT ?? join(data, 'workspaces'));
    const log = createAgentLogger(logLevel);
    const statusLine = new StatusLine(context.stderr);

    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) {
        printLine(context.stderr, `${signal} again: exiting without waiting for the running turns`);
        process.exit(130);
      }
      log.info({ signal }, 'stop requested');
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      log.info({ server: pairing.server, executorId: pairing.executorId, capacity, workspaceRoot, dataDir: data }, 'foundation-agent starting');
      const end = await runDaemon(
        {
          pairing,
          dataDir: data,
          workspaceRoot,
          capacity,
          outboxMaxBytes: settings.FOUNDATION_AGENT_OUTBOX_MAX_BYTES,
          reconnectMaxDelayMs: settings.FOUNDATION_AGENT_RECONNECT_MAX_DELAY_MS,
          adapters: await loadEngineAdapters(),
          log,
          statusLine,
        },
        stop.signal,
      );
      switch (end.kind) {
        case 'stopped':
          log.info('foundation-agent stopped');
          return EXIT.ok;
        case 'credential-rejected':
          printLine(context.stderr, `foundation-agent stopped: ${end.message}`);
          return EXIT.credentialRejected;
        case 'replaced':
          printLine(context.stderr, `foundation-agent stopped: ${end.message}`);
          return EXIT.failed;
      }
    } catch (error) {
      if (error instanceof DaemonAlreadyRunningError) {
        printLine(context.stderr, error.message);
        return EXIT.failed;
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
