import { Session_State, TurnCompleted_Status } from '@foundation/contracts';
import { inOrg, orgWithRoles, type OrgWithRoles } from '@foundation/testing';
import { expect } from 'chai';
import { AgentHome, type DaemonProcess } from './support/agent-home.js';
import { PlatformWithBrainProcess } from './support/brain-process.js';
import { expectGaplessSeqs, lastTurnCompleted, messages, PlatformNode } from './support/platform-node.js';

const MESSAGES = 120;

describe('foundation-agent when its brain process is killed (kill -9) and started again mid-turn', () => {
  let platform: PlatformWithBrainProcess;
  let org: OrgWithRoles;
  let node: PlatformNode;
  let home: AgentHome;
  let daemon: DaemonProcess | undefined;

  before(async function () {
    this.timeout(120_000);
    platform = await PlatformWithBrainProcess.start({ FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms', FOUNDATION_TASK_SWEEP_INTERVAL: '200ms' });
    org = await orgWithRoles(platform.clients);
    node = new PlatformNode(platform.clients, () => inOrg(org.admin, org.org.id));
    home = await AgentHome.create();
    await node.pair(home, platform.brainUrl);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(`${platform.describe()}\n=== daemon ===\n${daemon?.stderr}\n${JSON.stringify(daemon?.logs.slice(-40), null, 1)}`);
  });

  after(async function () {
    this.timeout(60_000);
    await daemon?.stop('SIGKILL');
    await platform?.close();
    await home?.remove();
  });

  it('stores every event of the turn exactly once, in order, and the session ends idle', async function () {
    this.timeout(90_000);
    // 120 messages 50 ms apart: the engine is still printing while the brain is down and after it is back.
    daemon = home.start(['--capacity', '1'], { FAKE_ENGINE_SCENARIO: 'messages', FAKE_ENGINE_MESSAGES: String(MESSAGES), FAKE_ENGINE_PAUSE_MS: '50' });
    const executorId = await node.online(home, daemon);
    const sessionId = await node.createSession(executorId);
    await node.eventCount(sessionId, 10);

    await platform.killBrain();
    const storedAtKill = (await node.events(sessionId)).length;
    await platform.restartBrain();
    const done = await node.inState(sessionId, [Session_State.IDLE, Session_State.FAILED], 60_000);

    expect(done.state).to.equal(Session_State.IDLE);
    const events = await node.events(sessionId);
    expectGaplessSeqs(events);
    expect(messages(events)).to.deep.equal(Array.from({ length: MESSAGES }, (_, i) => `message ${i + 1}`));
    expect(lastTurnCompleted(events)?.status).to.equal(TurnCompleted_Status.SUCCESS);
    expect(events.filter((event) => event.event?.kind.case === 'turnCompleted')).to.have.length(1);
    // The turn really was cut: part of it was stored before the kill, and the daemon had to reconnect.
    expect(storedAtKill).to.be.below(events.length);
    expect(daemon.logs.filter((line) => line.msg === 'connected to the brain').length).to.be.at.least(2);
    expect(daemon.logs.some((line) => line.msg === 'brain connection lost; reconnecting')).to.equal(true);
  });
});
