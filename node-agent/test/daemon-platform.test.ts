import { Executor_State, Session_State, TurnCompleted_Status, type SessionEvent } from '@foundation/contracts';
import { inOrg, orgWithRoles, startEffectServer, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome, type DaemonProcess } from './support/agent-home.js';
import { TcpCutProxy } from './support/tcp-cut-proxy.js';

/** Polls `check` until it returns something, every 100 ms, up to `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function messages(events: SessionEvent[]): string[] {
  return events.flatMap((event) => (event.event?.kind.case === 'message' ? [event.event.kind.value.text] : []));
}

describe('foundation-agent against the real platform (brain over gRPC)', () => {
  let platform: TestPlatform;
  let org: OrgWithRoles;
  let proxy: TcpCutProxy;
  let home: AgentHome;
  let daemon: DaemonProcess | undefined;
  const asAdmin = () => inOrg(org.admin, org.org.id);

  before(async () => {
    platform = await startTestPlatform({
      env: { FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms', FOUNDATION_TASK_SWEEP_INTERVAL: '200ms', FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true' },
    });
    org = await orgWithRoles(platform.grpc);
  });

  after(async () => {
    await platform?.close();
  });

  beforeEach(async () => {
    home = await AgentHome.create();
    proxy = await TcpCutProxy.start(new URL(platform.baseUrl));
    const { code } = await platform.grpc.pairing.createPairingCode({}, asAdmin());
    const paired = await home.run(['pair', '--server', proxy.url, '--code', code, '--name', 'test-node']);
    expect(paired.code, paired.stderr).to.equal(0);
  });

  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await proxy.close();
    await home.remove();
  });

  async function startOnline(): Promise<string> {
    daemon = home.start(['--capacity', '2']);
    await daemon.waitForLog('connected to the brain', 20_000);
    const executorId = JSON.parse((await home.run(['status', '--json'])).stdout).executorId as string;
    await eventually(async () => {
      const { executor } = await platform.grpc.executors.getExecutor({ executorId }, asAdmin());
      return executor?.state === Executor_State.ONLINE ? executor : undefined;
    });
    return executorId;
  }

  async function sessionEvents(sessionId: string): Promise<SessionEvent[]> {
    const { events } = await platform.grpc.sessions.listSessionEvents({ sessionId, pageSize: 1000 }, asAdmin());
    return events;
  }

  async function idle(sessionId: string, timeoutMs = 30_000) {
    return eventually(async () => {
      const { session } = await platform.grpc.sessions.getSession({ sessionId }, asAdmin());
      return session?.state === Session_State.IDLE || session?.state === Session_State.FAILED ? session : undefined;
    }, timeoutMs);
  }

  it('shows up online in its organization with the engines it found', async () => {
    const executorId = await startOnline();
    const { executor } = await platform.grpc.executors.getExecutor({ executorId }, asAdmin());
    expect(executor?.name).to.equal('test-node');
    expect(executor?.capacity).to.equal(2);
    expect(executor?.engines.map((engine) => [engine.engine, engine.version])).to.deep.equal([['gateway.codex.v2', 'codex-cli 0.0.0-fake']]);
  });

  it('runs a session turn and every event reaches the session in order', async () => {
    const executorId = await startOnline();
    const { session } = await platform.grpc.sessions.createSession(
      { engine: 'gateway.codex.v2', executorId, workspace: 'repo', prompt: JSON.stringify({ messages: 3 }) },
      asAdmin(),
    );
    const done = await idle(session!.id);
    expect(done.state).to.equal(Session_State.IDLE);
    const events = await sessionEvents(session!.id);
    expect(messages(events)).to.deep.equal(['message 1', 'message 2', 'message 3']);
    const last = events.at(-1)?.event?.kind;
    expect(last?.case === 'turnCompleted' && last.value.status).to.equal(TurnCompleted_Status.SUCCESS);
  });

  it('loses and duplicates no event when its connection is cut mid-turn', async () => {
    const executorId = await startOnline();
    const { session } = await platform.grpc.sessions.createSession(
      { engine: 'gateway.codex.v2', executorId, workspace: 'repo', prompt: JSON.stringify({ messages: 60, delayMs: 25 }) },
      asAdmin(),
    );
    await eventually(async () => ((await sessionEvents(session!.id)).length >= 10 ? true : undefined));
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 800));
    proxy.restore();
    await idle(session!.id);
    const events = await sessionEvents(session!.id);
    expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
    expect(messages(events)).to.deep.equal(Array.from({ length: 60 }, (_, i) => `message ${i + 1}`));
    expect(daemon!.logs.some((line) => line.msg === 'brain connection lost; reconnecting')).to.equal(true);
  });

  it('reports a turn its daemon died in as failed once the daemon is back, every event once', async () => {
    const executorId = await startOnline();
    const { session } = await platform.grpc.sessions.createSession(
      { engine: 'gateway.codex.v2', executorId, workspace: 'repo', prompt: JSON.stringify({ messages: 50, delayMs: 100 }) },
      asAdmin(),
    );
    await eventually(async () => ((await sessionEvents(session!.id)).length >= 5 ? true : undefined));
    await daemon!.stop('SIGKILL');
    daemon = home.start(['--capacity', '2']);
    const done = await idle(session!.id);
    const events = await sessionEvents(session!.id);
    expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
    const last = events.at(-1)?.event?.kind;
    expect(last?.case === 'turnCompleted' && last.value.status).to.equal(TurnCompleted_Status.FAILED);
    expect(last?.case === 'turnCompleted' && last.value.reason).to.equal('the node-agent restarted during the turn');
    expect(done.state).to.be.oneOf([Session_State.IDLE, Session_State.FAILED]);
  });

  it('gives the engine connector_action through the MCP bridge, run by the platform', async () => {
    const api = await startEffectServer();
    try {
      const executorId = await startOnline();
      const tool = { action: 'http.request', input: { method: 'POST', url: `${api.url}/hook`, body: { json: { from: 'agent' } } } };
      const { session } = await platform.grpc.sessions.createSession(
        { engine: 'gateway.codex.v2', executorId, workspace: 'repo', prompt: JSON.stringify({ tool }), toolBridge: true },
        asAdmin(),
      );
      const delivery = await api.nextDelivery('/hook');
      expect(JSON.parse(delivery.body)).to.deep.equal({ from: 'agent' });
      await idle(session!.id);
      const [message] = messages(await sessionEvents(session!.id));
      const toolResult = JSON.parse(message!) as { isError?: boolean; structuredContent?: { status?: number; body?: unknown } };
      expect(toolResult.isError).to.not.equal(true);
      expect(toolResult.structuredContent?.status).to.equal(200);
      expect(toolResult.structuredContent?.body).to.deep.include({ ok: true, path: '/hook' });
    } finally {
      await api.close();
    }
  });

  it('stops with exit code 4 when an admin revokes it while connected', async () => {
    const executorId = await startOnline();
    await platform.grpc.executors.revokeExecutor({ executorId }, asAdmin());
    expect(await daemon!.exited).to.equal(4);
    expect(daemon!.stderr).to.contain('revoked');
  });
});
