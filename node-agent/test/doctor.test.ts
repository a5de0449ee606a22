import { Code } from '@connectrpc/connect';
import { expect } from 'chai';
import { AgentHome } from './support/agent-home.js';
import { FakeBrain, platformError } from './support/fake-brain.js';

describe('foundation-agent doctor', () => {
  let home: AgentHome;
  let brain: FakeBrain;
  let revoked: boolean;

  beforeEach(async () => {
    home = await AgentHome.create();
    revoked = false;
    brain = new FakeBrain({
      authorize: (authorization) => {
        if (revoked) throw platformError(Code.Unauthenticated, 'NODE_REVOKED', 'node revoked');
        if (authorization !== 'Bearer fnd_node_test') throw platformError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'unknown credential');
      },
    });
    await brain.start();
  });

  afterEach(async () => {
    await brain.stop();
    await home.remove();
  });

  it('says how to pair when the machine is not paired, exit code 3', async () => {
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(3);
    expect(result.stdout).to.contain('✗ pairing: not paired');
  });

  it('checks each engine with its version, the server and the credential', async () => {
    await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
    const result = await home.run(['doctor']);
    expect(result.code, result.stdout).to.equal(0);
    expect(result.stdout).to.contain('✓ gateway.codex.v2: codex codex-cli 0.0.0-fake');
    expect(result.stdout).to.match(/✗ gateway\.claude\.v2: claude not found on PATH/);
    expect(result.stdout).to.match(/✗ gateway\.opencode\.v2: opencode not found on PATH/);
    expect(result.stdout).to.contain(`✓ server: ${brain.url} answers`);
    expect(result.stdout).to.contain('✓ credential: accepted (node node-1)');
    expect(brain.streams[0]?.hello?.engines.map((engine) => engine.engine)).to.deep.equal(['gateway.codex.v2']);
  });

  it('says a revoked node must pair again', async () => {
    await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
    revoked = true;
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.contain('✗ credential: NODE_REVOKED: this node was revoked; pair again');
  });

  it('says a server that does not answer is unreachable', async () => {
    await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
    await brain.stop();
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.contain(`✗ server: ${brain.url}`);
  });

  it('reports the running daemon instead of opening a second connection that would end it', async () => {
    await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
    const daemon = home.start();
    try {
      await brain.until(() => brain.current?.hello);
      await daemon.waitForLog('connected to the brain');
      const result = await home.run(['doctor']);
      expect(result.stdout).to.match(/✓ daemon: running \(pid \d+\), online/);
      expect(brain.streams).to.have.length(1);
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});
