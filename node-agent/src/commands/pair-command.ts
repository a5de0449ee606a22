import { hostname } from 'node:os';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { PairingService } from '@foundation/contracts';
import { configDir } from '../agent-paths.js';
import { readAgentSettings } from '../agent-settings.js';
import { EXIT, parseFlags, printLine, UsageError, type CliCommand } from '../cli-command.js';
import { currentNodeFacts } from '../node-facts.js';
import { PairingFileError, PairingStore } from '../pairing-store.js';
import { createPlatformTransport } from '../platform-transport.js';
import { describeRpcError, reasonOf } from '../rpc-error-reason.js';

const PAIR_TIMEOUT_MS = 15_000;

export const pairCommand: CliCommand = {
  name: 'pair',
  summary: 'pair this machine with an organization, once, with a pairing code',
  usage: `foundation-agent pair --server <url> --code <code> [--name <name>] [--force]

Redeems a pairing code an owner or admin of your organization created, registers this machine as a node
and stores its credential in the config directory (a file only you can read). Then run
\`foundation-agent start\`.

  --server  the Foundation server, for example https://foundation.example.com (gRPC over TLS) or
            http://127.0.0.1:8080 (cleartext HTTP/2, for a local server); default FOUNDATION_AGENT_SERVER
  --code    the pairing code, for example K7P-92Q (case and the dash do not matter)
  --name    the node's name in the organization; default the host name
  --force   replace an existing pairing of this machine`,
  async run(args, context) {
    const flags = parseFlags(args, {
      server: { type: 'string' },
      code: { type: 'string' },
      name: { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const server = (flags.server ?? readAgentSettings(context.env).FOUNDATION_AGENT_SERVER)?.replace(/\/+$/, '');
    if (server === undefined) throw new UsageError('--server is required (or set FOUNDATION_AGENT_SERVER)');
    if (!/^https?:\/\/[^/]/.test(server)) throw new UsageError(`--server must be an http:// or https:// URL (got "${server}")`);
    if (flags.code === undefined || flags.code.trim() === '') throw new UsageError('--code is required');
    const name = flags.name ?? hostname();
    if (name.length < 1 || name.length > 100) throw new UsageError('--name must be 1 to 100 characters');

    const store = new PairingStore(configDir(context.paths));
    const existing = await store.read().catch((error: unknown) => {
      if (error instanceof PairingFileError && flags.force) return undefined;
      throw error;
    });
    if (existing !== undefined && !flags.force) {
      printLine(
        context.stderr,
        `this machine is already paired with ${existing.server} as node ${existing.executorId}: run \`foundation-agent unpair\` first, or pass --force to replace that pairing`,
      );
      return EXIT.failed;
    }

    const platform = createPlatformTransport({ server });
    try {
      const client = createClient(PairingService, platform.transport);
      const response = await client.pair({ code: flags.code.trim(), name, facts: currentNodeFacts() }, { timeoutMs: PAIR_TIMEOUT_MS });
      await store.write({ server, executorId: response.executorId, orgId: response.orgId, credential: response.credential });
      printLine(context.stdout, `paired with ${server} as node ${response.executorId} (organization ${response.orgId})`);
      printLine(context.stdout, `credential saved in ${store.path}; now run \`foundation-agent start\``);
      return EXIT.ok;
    } catch (error) {
      printLine(context.stderr, `pairing failed: ${pairingFailure(error, server)}`);
      return EXIT.failed;
    } finally {
      platform.close();
    }
  },
};

function pairingFailure(error: unknown, server: string): string {
  switch (reasonOf(error)) {
    case 'PAIRING_CODE_UNKNOWN':
      return 'the pairing code is not known: check it, or ask an admin of your organization for a new one';
    case 'PAIRING_CODE_EXPIRED':
      return 'the pairing code has expired: ask an admin of your organization for a new one';
    case 'PAIRING_CODE_USED':
      return 'the pairing code was already used (each code pairs one node): ask an admin of your organization for a new one';
    case 'RATE_LIMITED':
      return 'too many wrong pairing codes from this address: wait a few minutes and try again';
    case 'INVALID_FIELD':
      return `the server refused this node's details: ${ConnectError.from(error).rawMessage}`;
  }
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.Unavailable || connectError.code === Code.DeadlineExceeded || connectError.code === Code.Unknown) {
    return `cannot reach ${server}: ${connectError.rawMessage} (is the URL right, and is it http:// for a cleartext server or https:// for TLS?)`;
  }
  return describeRpcError(connectError);
}
