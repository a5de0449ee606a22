import { configDir, dataDir } from '../agent-paths.js';
import { EXIT, parseFlags, printLine, type CliCommand } from '../cli-command.js';
import { DaemonStatusFile } from '../daemon-status-file.js';
import { PairingStore } from '../pairing-store.js';

export const unpairCommand: CliCommand = {
  name: 'unpair',
  summary: "delete this machine's stored credential",
  usage: `foundation-agent unpair

Deletes the stored pairing (server, node id and credential) from the config directory. The node stays
listed in its organization as offline until an admin revokes it (RevokeExecutor), which is what cuts off a
credential that may have been copied.`,
  async run(args, context) {
    parseFlags(args, {});
    const store = new PairingStore(configDir(context.paths));
    const removed = await store.remove();
    printLine(context.stdout, removed ? `unpaired: deleted ${store.path}` : 'this machine is not paired: nothing to delete');
    const daemon = new DaemonStatusFile(dataDir(context.paths)).readLive();
    if (daemon !== undefined) {
      printLine(context.stderr, `a foundation-agent daemon (pid ${daemon.pid}) is still running with the old credential: stop it`);
    }
    return EXIT.ok;
  },
};
