import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { BrainService, ConnectRequestSchema, EngineInstallationSchema, HeldTaskSchema, HelloSchema, type EngineInstallation, type Hello } from '@foundation/contracts';
import { configDir, dataDir } from '../agent-paths.js';
import { EXIT, parseFlags, printLine, type CliCommand, type CliContext } from '../cli-command.js';
import { DaemonStatusFile } from '../daemon-status-file.js';
import { loadEngineAdapters } from '../engine-adapters.js';
import { EventOutbox } from '../event-outbox.js';
import { currentNodeFacts } from '../node-facts.js';
import { PairingStore, type Pairing } from '../pairing-store.js';
import { createPlatformTransport } from '../platform-transport.js';
import { describeRpcError, reasonOf } from '../rpc-error-reason.js';

const CONNECT_CHECK_TIMEOUT_MS = 10_000;

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'check the engines, the server and the credential',
  usage: `foundation-agent doctor

Checks, one line each: the pairing; each engine's CLI on PATH (codex, claude, opencode) and its
--version; that the server answers; that it accepts this node's credential (it opens the node's stream
and expects a Welcome). While the daemon runs, its own connection state is reported instead, since a
second connection of the node would end the daemon's. Exit code 0 when everything needed works (at least
one engine, server and credential), 1 otherwise, 3 when not paired.`,
  async run(args, context) {
    parseFlags(args, {});
    const report = (ok: boolean, what: string, detail: string) => printLine(context.stdout, `${ok ? '✓' : '✗'} ${what}: ${detail}`);
    const pairing = await new PairingStore(configDir(context.paths)).read();
    if (pairing === undefined) report(false, 'pairing', 'not paired (run `foundation-agent pair --server <url> --code <code>`)');
    else report(true, 'pairing', `node ${pairing.executorId} of organization ${pairing.orgId} on ${pairing.server}`);

    const engines: EngineInstallation[] = [];
    for (const adapter of (await loadEngineAdapters()).values()) {
      const version = await adapter.version();
      if (version === undefined) report(false, adapter.id, `${adapter.executable} not found on PATH (or it did not answer --version)`);
      else {
        report(true, adapter.id, `${adapter.executable} ${version}`);
        engines.push(create(EngineInstallationSchema, { engine: adapter.id, version }));
      }
    }
    if (pairing === undefined) return EXIT.notPaired;
    const connectionOk = await checkConnection(pairing, engines, context, report);
    return connectionOk && engines.length > 0 ? EXIT.ok : EXIT.failed;
  },
};

async function checkConnection(
  pairing: Pairing,
  engines: EngineInstallation[],
  context: CliContext,
  report: (ok: boolean, what: string, detail: string) => void,
): Promise<boolean> {
  const data = dataDir(context.paths);
  const daemon = new DaemonStatusFile(data).readLive();
  if (daemon !== undefined) {
    const online = daemon.state === 'online';
    report(online, 'daemon', `running (pid ${daemon.pid}), ${daemon.state}`);
    return online;
  }
  const hello = create(HelloSchema, {
    facts: currentNodeFacts(),
    engines,
    capacity: 1,
    // The brain fails held tasks a node stops mentioning, so a stopped daemon's tasks are named here too.
    heldTasks: EventOutbox.peekHeldTasks(join(data, 'outbox')).map((held) => create(HeldTaskSchema, held)),
  });
  const platform = createPlatformTransport({ server: pairing.server, credential: pairing.credential });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CONNECT_CHECK_TIMEOUT_MS);
  try {
    const client = createClient(BrainService, platform.transport);
    for await (const response of client.connect(helloOnly(hello, controller.signal), { signal: controller.signal })) {
      if (response.kind.case === 'welcome') {
        report(true, 'server', `${pairing.server} answers`);
        report(true, 'credential', `accepted (node ${response.kind.value.executorId})`);
        return true;
      }
    }
    report(false, 'server', `${pairing.server} ended the stream without a Welcome`);
    return false;
  } catch (error) {
    const connectError = ConnectError.from(error);
    const reason = reasonOf(connectError);
    if (connectError.code === Code.Unauthenticated) {
      report(true, 'server', `${pairing.server} answers`);
      report(
        false,
        'credential',
        reason === 'NODE_REVOKED'
          ? 'NODE_REVOKED: this node was revoked; pair again with a new code (`foundation-agent pair --force …`)'
          : `${reason ?? 'refused'}: ${connectError.rawMessage}; pair again (\`foundation-agent pair --force …\`)`,
      );
    } else if (controller.signal.aborted) {
      report(false, 'server', `${pairing.server} did not answer within ${CONNECT_CHECK_TIMEOUT_MS / 1000}s`);
    } else {
      report(false, 'server', `${pairing.server}: ${describeRpcError(connectError)}`);
    }
    return false;
  } finally {
    clearTimeout(timer);
    controller.abort();
    platform.close();
  }
}

/** Hello, then nothing until the check ends, so the stream stays open for the Welcome. */
async function* helloOnly(hello: Hello, signal: AbortSignal) {
  yield create(ConnectRequestSchema, { kind: { case: 'hello', value: hello } });
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}
