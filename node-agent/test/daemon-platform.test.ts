import { Session_State, TurnCompleted_Status } from '@foundation/contracts';
import { inOrg, orgWithRoles, startEffectServer, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome, type DaemonProcess } from './support/agent-home.js';
import { expectGaplessSeqs, lastTurnCompleted, messages, PlatformNode } from './support/platform-node.js';
import { TcpCutProxy } from './support/tcp-cut-proxy.js';

/** A turn of 60 messages 25 ms apart (about 1.5 s): still printing when a test cuts something. */
const SLOW_TURN = { FAKE_ENGINE_SCENARIO: 'messages', FAKE_ENGINE_MESSAGES: '60', FAKE_ENGINE_PAUSE_MS: '25' };

describe('foundation-agent against the real platform (brain over gRPC)', () => {
  let platform: TestPlatform;
  let org: OrgWithRoles;
  let node: PlatformNode;
  let proxy: TcpCutProxy;
  let home: AgentHome;
  let daemon: DaemonProcess | undefined;
  const asAdmin = () => inOrg(org.admin, org.org.id);

  before(async () => {
    platform = await startTestPlatform({
      env: { FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms', FOUNDATION_TASK_SWEEP_INTERVAL: '200ms', FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true' },
    });
    org = await orgWithRoles(platform.grpc);
    node = new PlatformNode(platform.grpc, asAdmin);
  });

  after(async () => {
    await platform?.close();
  });

  beforeEach(async () => {
    home = await AgentHome.create();
    proxy = await TcpCutProxy.start(new URL(platform.baseUrl));
    await node.pair(home, proxy.url);
  });

  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await proxy.close();
    await home.remove();
  });

  async function startOnline(engineEnv: Record<string, string>): Promise<string> {
    daemon = home.start(['--capacity', '2'], engineEnv);
    return node.online(home, daemon);
  }

  it('shows up online in its organization with the engines it found', async () => {
    const executorId = await startOnline({});
    const { executor } = await platform.grpc.executors.getExecutor({ executorId }, asAdmin());
    expect(executor?.name).to.equal('test-node');
    expect(executor?.capacity).to.equal(2);
    expect(executor?.engines.map((engine) => [engine.engine, engine.version])).to.deep.equal([['gateway.codex.v2', 'codex-cli 0.152.1']]);
  });

  it('runs a session turn and every event reaches the session in order', async () => {
    const executorId = await startOnline({ FAKE_ENGINE_SCENARIO: 'messages' });
    const sessionId = await node.createSession(executorId);
    const done = await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED]);
    expect(done.state).to.equal(Session_State.IDLE);
    const events = await node.events(sessionId);
    expect(messages(events)).to.deep.equal(['message 1', 'message 2', 'message 3']);
    expect(lastTurnCompleted(events)?.status).to.equal(TurnCompleted_Status.SUCCESS);
  });

  it('loses and duplicates no event when its connection is cut mid-turn', async () => {
    const executorId = await startOnline(SLOW_TURN);
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 10);
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 800));
    proxy.restore();
    await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED]);
    const events = await node.events(sessionId);
    expectGaplessSeqs(events);
    expect(messages(events)).to.deep.equal(Array.from({ length: 60 }, (_, i) => `message ${i + 1}`));
    expect(daemon!.logs.some((line) => line.msg === 'brain connection lost; reconnecting')).to.equal(true);
  });

  it('reports a turn its daemon died in as failed once the daemon is back, every event once', async () => {
    const executorId = await startOnline({ ...SLOW_TURN, FAKE_ENGINE_PAUSE_MS: '100' });
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 5);
    await daemon!.stop('SIGKILL');
    daemon = home.start(['--capacity', '2']);
    const done = await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED]);
    const events = await node.events(sessionId);
    expectGaplessSeqs(events);
    expect(lastTurnCompleted(events)?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(lastTurnCompleted(events)?.reason).to.equal('the node-agent restarted during the turn');
    expect(done.state).to.be.oneOf([Session_State.IDLE, Session_State.FAILED]);
  });

  it('gives the engine connector_action through the MCP bridge, run by the platform', async () => {
    const api = await startEffectServer();
    try {
      const tool = { action: 'http.request', input: { method: 'POST', url: `${api.url}/hook`, body: { json: { from: 'agent' } } } };
      const executorId = await startOnline({ FAKE_ENGINE_SCENARIO: 'mcp-call', FAKE_MCP_TOOL: 'connector_action', FAKE_MCP_ARGS: JSON.stringify(tool) });
      const sessionId = await node.createSession(executorId, { toolBridge: true });
      const delivery = await api.nextDelivery('/hook');
      expect(JSON.parse(delivery.body)).to.deep.equal({ from: 'agent' });
      await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED]);
      const [message] = messages(await node.events(sessionId));
      expect(message).to.match(/^the tool said: /);
      const result = JSON.parse(message!.slice('the tool said: '.length)) as { status?: number; body?: unknown };
      expect(result.status).to.equal(200);
      expect(result.body).to.deep.include({ ok: true, path: '/hook' });
    } finally {
      await api.close();
    }
  });

  it('stops with exit code 4 when an admin revokes it while connected', async () => {
    const executorId = await startOnline({});
    await platform.grpc.executors.revokeExecutor({ executorId }, asAdmin());
    expect(await daemon!.exited).to.equal(4);
    expect(daemon!.stderr).to.contain('revoked');
  });
});
