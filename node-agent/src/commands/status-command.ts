import { configDir, dataDir } from '../agent-paths.js';
import { EXIT, parseFlags, printLine, type CliCommand } from '../cli-command.js';
import { DaemonStatusFile } from '../daemon-status-file.js';
import { PairingStore } from '../pairing-store.js';

export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'show whether this machine is paired and whether the daemon runs',
  usage: `foundation-agent status [--json]

Shows the pairing (server, node id, organization) and the daemon's state as it last wrote it to the data
directory (pid, online or offline, tasks running). Exit code 0 when paired, 3 when not.

  --json  print the same as one JSON object`,
  async run(args, context) {
    const flags = parseFlags(args, { json: { type: 'boolean', default: false } });
    const store = new PairingStore(configDir(context.paths));
    const pairing = await store.read();
    const daemon = new DaemonStatusFile(dataDir(context.paths)).readLive();
    if (flags.json) {
      const paired = pairing === undefined ? { paired: false } : { paired: true, server: pairing.server, executorId: pairing.executorId, orgId: pairing.orgId };
      printLine(context.stdout, JSON.stringify({ ...paired, daemon: daemon === undefined ? { running: false } : { running: true, ...daemon } }));
    } else {
      if (pairing === undefined) printLine(context.stdout, 'paired:  no (run `foundation-agent pair --server <url> --code <code>`)');
      else {
        printLine(context.stdout, `paired:  yes, as node ${pairing.executorId} of organization ${pairing.orgId}`);
        printLine(context.stdout, `server:  ${pairing.server}`);
      }
      printLine(
        context.stdout,
        daemon === undefined
          ? 'daemon:  not running (run `foundation-agent start`)'
          : `daemon:  running (pid ${daemon.pid}) · ${daemon.state} · ${daemon.runningTasks}/${daemon.capacity} tasks · since ${daemon.startTime}`,
      );
    }
    return pairing === undefined ? EXIT.notPaired : EXIT.ok;
  },
};
