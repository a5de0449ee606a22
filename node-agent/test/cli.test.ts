import { stat, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort } from '@foundation/db';
import { inOrg, orgWithRoles, startTestPlatform, withDatabase, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome } from './support/agent-home.js';
import { TcpCutProxy } from './support/tcp-cut-proxy.js';

/** A well-formed pairing code no admin created. */
const UNKNOWN_CODE = 'ACD-EFG';

describe('foundation-agent CLI (against the real platform)', () => {
  let platform: TestPlatform;
  let org: OrgWithRoles;
  let proxy: TcpCutProxy;
  let server: string;
  let home: AgentHome;
  const asAdmin = () => inOrg(org.admin, org.org.id);
  const newCode = async () => (await platform.grpc.pairing.createPairingCode({}, asAdmin())).code;

  before(async () => {
    platform = await startTestPlatform();
    org = await orgWithRoles(platform.grpc);
  });

  after(async () => {
    await platform?.close();
  });

  beforeEach(async () => {
    home = await AgentHome.create();
    proxy = await TcpCutProxy.start(new URL(platform.baseUrl));
    server = proxy.url;
  });

  afterEach(async () => {
    await proxy.close();
    await home.remove();
  });

  describe('--help', () => {
    it('lists every command, the environment variables and the exit codes', async () => {
      const result = await home.run(['--help']);
      expect(result.code).to.equal(0);
      for (const command of ['pair', 'start', 'status', 'doctor', 'unpair']) expect(result.stdout).to.contain(`foundation-agent ${command}`);
      for (const variable of ['FOUNDATION_AGENT_SERVER', 'FOUNDATION_AGENT_CAPACITY', 'FOUNDATION_AGENT_WORKSPACE_ROOT', 'FOUNDATION_AGENT_DATA_DIR']) {
        expect(result.stdout).to.contain(variable);
      }
      expect(result.stdout).to.contain('Exit codes');
    });

    for (const command of ['pair', 'start', 'status', 'doctor', 'unpair']) {
      it(`prints the usage of ${command}`, async () => {
        const result = await home.run([command, '--help']);
        expect(result.code).to.equal(0);
        expect(result.stdout).to.match(new RegExp(`^foundation-agent ${command}`));
      });
    }

    it('answers an unknown command with the usage and exit code 2', async () => {
      const result = await home.run(['frobnicate']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('unknown command "frobnicate"');
    });

    it('answers an unknown flag with the command usage and exit code 2', async () => {
      const result = await home.run(['status', '--bogus']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain("Unknown option '--bogus'");
      expect(result.stderr).to.contain('foundation-agent status');
    });
  });

  describe('pair', () => {
    it('stores the pairing in a 0600 file in a 0700 directory', async () => {
      const result = await home.run(['pair', '--server', server, '--code', await newCode(), '--name', 'laptop']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain('paired with');
      const file = join(home.configDir, 'pairing.json');
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect((await stat(home.configDir)).mode & 0o777).to.equal(0o700);
      const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      expect(Object.keys(stored).sort()).to.deep.equal(['credential', 'executorId', 'orgId', 'server']);
      expect(stored).to.include({ server, orgId: org.org.id });
      const { executor } = await platform.grpc.executors.getExecutor({ executorId: stored.executorId! }, asAdmin());
      expect(executor?.name).to.equal('laptop');
      expect(executor?.facts?.os).to.equal(process.platform);
      expect(result.stdout + result.stderr).not.to.contain(stored.credential);
    });

    it('refuses to replace an existing pairing without --force, and replaces it with --force', async () => {
      expect((await home.run(['pair', '--server', server, '--code', await newCode()])).code).to.equal(0);
      const code = await newCode();
      const again = await home.run(['pair', '--server', server, '--code', code]);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.contain('already paired');
      expect(again.stderr).to.contain('--force');
      // The refusal did not redeem the code: it still pairs (each code pairs one node once).
      const forced = await home.run(['pair', '--server', server, '--code', code, '--force']);
      expect(forced.code, forced.stderr).to.equal(0);
    });

    it('uses FOUNDATION_AGENT_SERVER when --server is not given', async () => {
      const result = await home.run(['pair', '--code', await newCode()], { FOUNDATION_AGENT_SERVER: server });
      expect(result.code, result.stderr).to.equal(0);
    });

    const refusals: Array<[string, () => Promise<string>, string]> = [
      ['unknown', async () => UNKNOWN_CODE, 'the pairing code is not known'],
      [
        'expired',
        async () => {
          const code = await newCode();
          await withDatabase(platform, 'superuser', (sql) =>
            sql.query(`update brain.pairing_codes set expires_at = now() - interval '1 second' where org_id = $1 and used_at is null`, [org.org.id]),
          );
          return code;
        },
        'the pairing code has expired',
      ],
      [
        'used',
        async () => {
          const code = await newCode();
          const other = await AgentHome.create();
          expect((await other.run(['pair', '--server', server, '--code', code])).code).to.equal(0);
          await other.remove();
          return code;
        },
        'the pairing code was already used',
      ],
    ];
    for (const [kind, codeOf, message] of refusals) {
      it(`explains a refused code (${kind}: ${message}) and stores nothing`, async () => {
        const result = await home.run(['pair', '--server', server, '--code', await codeOf()]);
        expect(result.code).to.equal(1);
        expect(result.stderr).to.contain(message);
        await stat(join(home.configDir, 'pairing.json')).then(
          () => expect.fail('a pairing file was written'),
          () => undefined,
        );
      });
    }

    it('says a server that does not answer cannot be reached', async () => {
      const nobody = `http://127.0.0.1:${await findFreePort()}`;
      const result = await home.run(['pair', '--server', nobody, '--code', await newCode()]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain(`cannot reach ${nobody}`);
    });

    it('requires --code and an http(s) server', async () => {
      expect((await home.run(['pair', '--server', server])).code).to.equal(2);
      const bad = await home.run(['pair', '--server', 'ftp://x', '--code', UNKNOWN_CODE]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain('http:// or https://');
    });
  });

  describe('status and unpair', () => {
    it('reports not paired with exit code 3', async () => {
      const result = await home.run(['status']);
      expect(result.code).to.equal(3);
      expect(result.stdout).to.contain('paired:  no');
      expect(result.stdout).to.contain('daemon:  not running');
    });

    it('reports the pairing, and unpair deletes the credential', async () => {
      await home.run(['pair', '--server', server, '--code', await newCode()]);
      const { executorId } = JSON.parse(await readFile(join(home.configDir, 'pairing.json'), 'utf8')) as { executorId: string };
      const status = await home.run(['status', '--json']);
      expect(status.code).to.equal(0);
      expect(JSON.parse(status.stdout)).to.deep.equal({ paired: true, server, executorId, orgId: org.org.id, daemon: { running: false } });
      const unpair = await home.run(['unpair']);
      expect(unpair.code).to.equal(0);
      expect(unpair.stdout).to.contain('unpaired');
      expect((await home.run(['status'])).code).to.equal(3);
      expect((await home.run(['unpair'])).stdout).to.contain('not paired');
    });

    it('tells how to recover from a damaged pairing file', async () => {
      await mkdir(home.configDir, { recursive: true });
      await writeFile(join(home.configDir, 'pairing.json'), '{ not json');
      const result = await home.run(['status']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain('pair --force');
    });
  });

  describe('start', () => {
    it('refuses to start unpaired, with exit code 3', async () => {
      const result = await home.run(['start']);
      expect(result.code).to.equal(3);
      expect(result.stderr).to.contain('not paired');
    });

    it('refuses a capacity outside 1 to 64 with exit code 2', async () => {
      await home.run(['pair', '--server', server, '--code', await newCode()]);
      const result = await home.run(['start', '--capacity', '0']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('--capacity');
      const fromEnv = await home.run(['start'], { FOUNDATION_AGENT_CAPACITY: '65' });
      expect(fromEnv.code).to.equal(2);
      expect(fromEnv.stderr).to.contain('FOUNDATION_AGENT_CAPACITY');
    });
  });
});
