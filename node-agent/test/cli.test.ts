import { stat, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Code } from '@connectrpc/connect';
import { expect } from 'chai';
import { AgentHome } from './support/agent-home.js';
import { FakeBrain, platformError } from './support/fake-brain.js';

describe('foundation-agent CLI', () => {
  let home: AgentHome;
  let brain: FakeBrain;

  beforeEach(async () => {
    home = await AgentHome.create();
    brain = new FakeBrain({
      pair: (request) => {
        if (request.code === 'OLD-111') throw platformError(Code.FailedPrecondition, 'PAIRING_CODE_EXPIRED', 'pairing code expired');
        if (request.code === 'USD-222') throw platformError(Code.FailedPrecondition, 'PAIRING_CODE_USED', 'pairing code used');
        if (request.code !== 'K7P-92Q') throw platformError(Code.NotFound, 'PAIRING_CODE_UNKNOWN', 'unknown pairing code');
        return { executorId: 'node-1', orgId: 'org-1', credential: 'fnd_node_test' };
      },
    });
    await brain.start();
  });

  afterEach(async () => {
    await brain.stop();
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
      const result = await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q', '--name', 'laptop']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain('paired with');
      const file = join(home.configDir, 'pairing.json');
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect((await stat(home.configDir)).mode & 0o777).to.equal(0o700);
      expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal({ server: brain.url, executorId: 'node-1', orgId: 'org-1', credential: 'fnd_node_test' });
      expect(brain.pairRequests[0]?.name).to.equal('laptop');
      expect(brain.pairRequests[0]?.facts?.os).to.equal(process.platform);
      expect(result.stdout + result.stderr).not.to.contain('fnd_node_test');
    });

    it('refuses to replace an existing pairing without --force, and replaces it with --force', async () => {
      expect((await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q'])).code).to.equal(0);
      const again = await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.contain('already paired');
      expect(again.stderr).to.contain('--force');
      expect(brain.pairRequests).to.have.length(1);
      const forced = await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q', '--force']);
      expect(forced.code, forced.stderr).to.equal(0);
    });

    it('uses FOUNDATION_AGENT_SERVER when --server is not given', async () => {
      const result = await home.run(['pair', '--code', 'K7P-92Q'], { FOUNDATION_AGENT_SERVER: brain.url });
      expect(result.code, result.stderr).to.equal(0);
    });

    const refusals: Array<[string, string]> = [
      ['NOPE-00', 'the pairing code is not known'],
      ['OLD-111', 'the pairing code has expired'],
      ['USD-222', 'the pairing code was already used'],
    ];
    for (const [code, message] of refusals) {
      it(`explains a refused code (${message}) and stores nothing`, async () => {
        const result = await home.run(['pair', '--server', brain.url, '--code', code]);
        expect(result.code).to.equal(1);
        expect(result.stderr).to.contain(message);
        await stat(join(home.configDir, 'pairing.json')).then(
          () => expect.fail('a pairing file was written'),
          () => undefined,
        );
      });
    }

    it('says a server that does not answer cannot be reached', async () => {
      await brain.stop();
      const result = await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.contain(`cannot reach ${brain.url}`);
    });

    it('requires --code and an http(s) server', async () => {
      expect((await home.run(['pair', '--server', brain.url])).code).to.equal(2);
      const bad = await home.run(['pair', '--server', 'ftp://x', '--code', 'K7P-92Q']);
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
      await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
      const status = await home.run(['status', '--json']);
      expect(status.code).to.equal(0);
      expect(JSON.parse(status.stdout)).to.deep.equal({ paired: true, server: brain.url, executorId: 'node-1', orgId: 'org-1', daemon: { running: false } });
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
      await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
      const result = await home.run(['start', '--capacity', '0']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('--capacity');
      const fromEnv = await home.run(['start'], { FOUNDATION_AGENT_CAPACITY: '65' });
      expect(fromEnv.code).to.equal(2);
      expect(fromEnv.stderr).to.contain('FOUNDATION_AGENT_CAPACITY');
    });
  });
});
