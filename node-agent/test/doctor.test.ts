import { Executor_State } from '@foundation/contracts';
import { inOrg, orgWithRoles, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome } from './support/agent-home.js';
import { PlatformNode } from './support/platform-node.js';
import { TcpCutProxy } from './support/tcp-cut-proxy.js';

describe('foundation-agent doctor (against the real platform)', () => {
  let platform: TestPlatform;
  let org: OrgWithRoles;
  let node: PlatformNode;
  let proxy: TcpCutProxy;
  let home: AgentHome;
  const asAdmin = () => inOrg(org.admin, org.org.id);

  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms' } });
    org = await orgWithRoles(platform.grpc);
    node = new PlatformNode(platform.grpc, asAdmin);
  });

  after(async () => {
    await platform?.close();
  });

  beforeEach(async () => {
    home = await AgentHome.create();
    proxy = await TcpCutProxy.start(new URL(platform.baseUrl));
  });

  afterEach(async () => {
    await proxy.close();
    await home.remove();
  });

  const executorIdOf = async () => JSON.parse((await home.run(['status', '--json'])).stdout).executorId as string;

  it('says how to pair when the machine is not paired, exit code 3', async () => {
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(3);
    expect(result.stdout).to.contain('✗ pairing: not paired');
  });

  it('checks each engine with its version, the server and the credential', async () => {
    await node.pair(home, proxy.url);
    const result = await home.run(['doctor']);
    expect(result.code, result.stdout).to.equal(0);
    expect(result.stdout).to.contain('✓ gateway.codex.v2: codex codex-cli 0.152.1');
    expect(result.stdout).to.match(/✗ gateway\.claude\.v2: claude not found on PATH/);
    expect(result.stdout).to.match(/✗ gateway\.opencode\.v2: opencode not found on PATH/);
    expect(result.stdout).to.contain(`✓ server: ${proxy.url} answers`);
    const executorId = await executorIdOf();
    expect(result.stdout).to.contain(`✓ credential: accepted (node ${executorId})`);
    const { executor } = await platform.grpc.executors.getExecutor({ executorId }, asAdmin());
    expect(executor?.engines.map((engine) => engine.engine)).to.deep.equal(['gateway.codex.v2']);
  });

  it('says a revoked node must pair again', async () => {
    await node.pair(home, proxy.url);
    await platform.grpc.executors.revokeExecutor({ executorId: await executorIdOf() }, asAdmin());
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.contain('✗ credential: NODE_REVOKED: this node was revoked; pair again');
  });

  it('says a server that does not answer is unreachable', async () => {
    await node.pair(home, proxy.url);
    proxy.cut();
    const result = await home.run(['doctor']);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.contain(`✗ server: ${proxy.url}`);
  });

  it('reports the running daemon instead of opening a second connection that would end it', async () => {
    await node.pair(home, proxy.url);
    const daemon = home.start();
    try {
      const executorId = await node.online(home, daemon);
      const result = await home.run(['doctor']);
      expect(result.stdout).to.match(/✓ daemon: running \(pid \d+\), online/);
      // A second stream of the node would have replaced the daemon's (ALREADY_EXISTS) and stopped it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(daemon.child.exitCode).to.equal(null);
      expect(daemon.logs.filter((line) => line.msg === 'connected to the brain')).to.have.length(1);
      const { executor } = await platform.grpc.executors.getExecutor({ executorId }, asAdmin());
      expect(executor?.state).to.equal(Executor_State.ONLINE);
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});
