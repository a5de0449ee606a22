import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code } from '@connectrpc/connect';
import { Session_State, TurnCompleted_Status } from '@foundation/contracts';
import { expectRpcError, inOrg, orgWithRoles, startTestPlatform, type OrgWithRoles, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome, type DaemonProcess } from './support/agent-home.js';
import { expectGaplessSeqs, lastTurnCompleted, messages, PlatformNode, poll } from './support/platform-node.js';
import { TcpCutProxy } from './support/tcp-cut-proxy.js';

const HANG = { FAKE_ENGINE_SCENARIO: 'hang' };
const LEASE_MS = 1_500;

describe('foundation-agent start against the real platform', () => {
  let platform: TestPlatform;
  let org: OrgWithRoles;
  let node: PlatformNode;
  let proxy: TcpCutProxy;
  let home: AgentHome;
  const daemons: DaemonProcess[] = [];
  const asAdmin = () => inOrg(org.admin, org.org.id);

  before(async () => {
    platform = await startTestPlatform({
      env: { FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms', FOUNDATION_TASK_LEASE: `${LEASE_MS}ms`, FOUNDATION_TASK_SWEEP_INTERVAL: '200ms' },
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
    // SIGTERM, not SIGKILL: a clean stop ends the engines' process groups, which a killed daemon would orphan.
    await Promise.all(daemons.splice(0).map((daemon) => daemon.stop('SIGTERM')));
    await proxy.close();
    await home.remove();
  });

  function start(args: string[], engineEnv: Record<string, string> = {}, on = home): DaemonProcess {
    const daemon = on.start(args, engineEnv);
    daemons.push(daemon);
    return daemon;
  }

  async function startOnline(args: string[] = ['--capacity', '2'], engineEnv: Record<string, string> = {}) {
    const daemon = start(args, engineEnv);
    return { daemon, executorId: await node.online(home, daemon) };
  }

  async function executor(executorId: string) {
    return (await platform.grpc.executors.getExecutor({ executorId }, asAdmin())).executor!;
  }

  it('says Hello with its facts, the engines found on PATH and its capacity, then heartbeats', async () => {
    const { executorId } = await startOnline(['--capacity', '3']);
    const online = await executor(executorId);
    expect(online.capacity).to.equal(3);
    expect(online.facts?.os).to.equal(process.platform);
    expect(online.facts?.agentVersion).to.equal('0.1.0');
    expect(online.engines.map((engine) => [engine.engine, engine.version])).to.deep.equal([['gateway.codex.v2', 'codex-cli 0.152.1']]);
    const firstSeen = online.lastSeenTime!.seconds * 1000n + BigInt(Math.floor(online.lastSeenTime!.nanos / 1e6));
    await poll(async () => {
      const seen = (await executor(executorId)).lastSeenTime!;
      return seen.seconds * 1000n + BigInt(Math.floor(seen.nanos / 1e6)) > firstSeen ? true : undefined;
    }, 5_000);
    const status = await home.run(['status']);
    expect(status.stdout).to.match(/daemon: {2}running \(pid \d+\) · online · 0\/3 tasks/);
  });

  it('runs a session turn in its workspace and delivers every event once, in order, until acknowledged', async () => {
    const { executorId } = await startOnline(['--capacity', '2'], { FAKE_ENGINE_SCENARIO: 'messages' });
    const sessionId = await node.createSession(executorId, { workspace: 'repo' });
    await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED]);
    const events = await node.events(sessionId);
    expectGaplessSeqs(events);
    expect(messages(events)).to.deep.equal(['message 1', 'message 2', 'message 3']);
    expect(lastTurnCompleted(events)?.status).to.equal(TurnCompleted_Status.SUCCESS);
    const started = events.find((event) => event.event?.kind.case === 'sessionStarted')?.event?.kind;
    expect(started?.case === 'sessionStarted' && started.value.cwd).to.equal(join(home.workspaceRoot, 'repo'));
    await poll(async () => ((await readdir(join(home.dataDir, 'outbox'))).length === 0 ? true : undefined), 10_000);
  });

  it('is given no more tasks than its capacity, and a cancelled turn ends as cancelled', async () => {
    const { executorId } = await startOnline(['--capacity', '1'], HANG);
    const first = await node.createSession(executorId);
    await node.eventCount(first, 1);
    const second = await node.createSession(executorId);
    // Several heartbeats and lease sweeps later the second session still waits for the busy node.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await platform.grpc.sessions.getSession({ sessionId: second }, asAdmin())).session?.state).to.equal(Session_State.PENDING);
    expect(await node.events(second)).to.deep.equal([]);

    await platform.grpc.sessions.cancelSession({ sessionId: first }, asAdmin());
    const cancelled = await poll(async () => lastTurnCompleted(await node.events(first)));
    expect(cancelled.status).to.equal(TurnCompleted_Status.CANCELLED);
    await node.inState(second, [Session_State.RUNNING]);
  });

  it('is never sent a workspace outside its root nor an engine it does not offer: the platform refuses them', async () => {
    const { executorId } = await startOnline();
    await expectRpcError(node.createSession(executorId, { workspace: '../../etc' }), Code.InvalidArgument);
    await expectRpcError(
      platform.grpc.sessions.createSession({ engine: 'gateway.opencode.v2', executorId, workspace: 'repo', prompt: 'hi' }, asAdmin()),
      Code.FailedPrecondition,
      'ENGINE_NOT_AVAILABLE',
    );
  });

  it('keeps the running task by extending its lease in every heartbeat', async () => {
    const { executorId } = await startOnline(['--capacity', '2'], HANG);
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 1);
    await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_MS));
    expect((await platform.grpc.sessions.getSession({ sessionId }, asAdmin())).session?.state).to.equal(Session_State.RUNNING);
    expect((await executor(executorId)).runningTasks).to.equal(1);
  });

  it('stops the task a Welcome after a reconnect says it no longer holds, and keeps nothing of it', async () => {
    const { daemon, executorId } = await startOnline(['--capacity', '2'], HANG);
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 1);
    proxy.cut();
    // Offline for longer than the lease: the brain's sweep fails the task.
    const failed = await node.inState(sessionId, [Session_State.FAILED], 10_000);
    expect(failed.reason).to.contain('lease expired');
    proxy.restore();
    await daemon.waitForLog('task dropped', 15_000);
    await daemon.waitForLog('task ended');
    expect(await readdir(join(home.dataDir, 'outbox'))).to.deep.equal([]);
    const reasons = (await node.events(sessionId)).flatMap((event) => (event.event?.kind.case === 'turnCompleted' ? [event.event.kind.value.reason] : []));
    expect(reasons.filter((reason) => reason.includes('node-agent'))).to.deep.equal([]);
  });

  it('stops cleanly on SIGTERM: the running turn ends and its last events are delivered', async () => {
    const { daemon, executorId } = await startOnline(['--capacity', '2'], HANG);
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 1);
    const stopping = Date.now();
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    // The process exits by itself once the turn is over: no leftover timer (an engine's kill grace) holds it.
    expect(Date.now() - stopping).to.be.below(3_000);
    const events = await node.events(sessionId);
    expectGaplessSeqs(events);
    expect(lastTurnCompleted(events)?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(lastTurnCompleted(events)?.reason).to.equal('the node-agent was stopped during the turn');
    expect((await home.run(['status'])).stdout).to.contain('daemon:  not running');
    const { credential } = JSON.parse(await readFile(join(home.configDir, 'pairing.json'), 'utf8')) as { credential: string };
    expect(daemon.logs.map((line) => JSON.stringify(line)).join('\n')).not.to.contain(credential);
  });

  it('stops when the brain ends its stream because the same node connected elsewhere', async () => {
    const { daemon } = await startOnline();
    const elsewhere = await AgentHome.create();
    try {
      await mkdir(elsewhere.configDir, { recursive: true, mode: 0o700 });
      await copyFile(join(home.configDir, 'pairing.json'), join(elsewhere.configDir, 'pairing.json'));
      const other = start([], {}, elsewhere);
      expect(await daemon.exited).to.equal(1);
      expect(daemon.stderr).to.contain('another foundation-agent connected with this node');
      await other.waitForLog('connected to the brain');
    } finally {
      await elsewhere.remove();
    }
  });

  it('refuses to run twice on one data dir', async () => {
    await startOnline();
    const second = await home.run(['start']);
    expect(second.code).to.equal(1);
    expect(second.stderr).to.contain('another foundation-agent');
  });

  it('stops with exit code 4 and a pair-again message when the node was revoked', async () => {
    const executorId = JSON.parse((await home.run(['status', '--json'])).stdout).executorId as string;
    await platform.grpc.executors.revokeExecutor({ executorId }, asAdmin());
    const daemon = start([]);
    expect(await daemon.exited).to.equal(4);
    expect(daemon.stderr).to.contain('revoked');
    expect(daemon.stderr).to.contain('foundation-agent pair');
  });
});
