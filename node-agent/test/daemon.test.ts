import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { TaskSchema, TurnCompleted_Status, type ConnectRequest, type TaskEvent } from '@foundation/contracts';
import { expect } from 'chai';
import { AgentHome, type DaemonProcess } from './support/agent-home.js';
import { FakeBrain, platformError } from './support/fake-brain.js';

function task(taskId: string, prompt: object, extra: { workspace?: string; engine?: string; toolBridge?: boolean } = {}) {
  return create(TaskSchema, { taskId, leaseToken: `lease-${taskId}`, engine: 'gateway.codex.v2', workspace: 'repo', prompt: JSON.stringify(prompt), ...extra });
}

function terminal(events: TaskEvent[]) {
  const kind = events.at(-1)?.event?.kind;
  return kind?.case === 'turnCompleted' ? kind.value : undefined;
}

function messages(events: TaskEvent[]): string[] {
  return events.flatMap((event) => (event.event?.kind.case === 'message' ? [event.event.kind.value.text] : []));
}

function sent<K extends NonNullable<ConnectRequest['kind']['case']>>(brain: FakeBrain, kind: K) {
  return brain.streams.flatMap((stream) => stream.received.filter((request) => request.kind.case === kind).map((request) => request.kind.value)) as Array<
    Extract<ConnectRequest['kind'], { case: K }>['value']
  >;
}

describe('foundation-agent start (against a fake brain over gRPC)', () => {
  let home: AgentHome;
  let brain: FakeBrain;
  let daemon: DaemonProcess | undefined;

  beforeEach(async () => {
    home = await AgentHome.create();
    brain = new FakeBrain({ heartbeatIntervalMs: 200 });
    await brain.start();
    const paired = await home.run(['pair', '--server', brain.url, '--code', 'K7P-92Q']);
    expect(paired.code, paired.stderr).to.equal(0);
  });

  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await brain.stop();
    await home.remove();
  });

  async function startDaemon(args: string[] = ['--capacity', '2']): Promise<DaemonProcess> {
    daemon = home.start(args);
    await brain.until(() => brain.current?.hello);
    return daemon;
  }

  it('says Hello with its facts, the engines found on PATH and its capacity, then heartbeats', async () => {
    await startDaemon(['--capacity', '3']);
    const hello = brain.current!.hello!;
    expect(hello.capacity).to.equal(3);
    expect(hello.facts?.os).to.equal(process.platform);
    expect(hello.facts?.agentVersion).to.equal('0.1.0');
    expect(hello.engines.find((engine) => engine.engine === 'gateway.codex.v2')?.version).to.equal('codex-cli 0.0.0-fake');
    expect(hello.heldTasks).to.deep.equal([]);
    await brain.until(() => sent(brain, 'heartbeat').length >= 2);
    const status = await home.run(['status']);
    expect(status.stdout).to.match(/daemon: {2}running \(pid \d+\) · online · 0\/3 tasks/);
  });

  it('runs an assigned task in its workspace and delivers every event once, in order, until acknowledged', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { messages: 3 }) } } });
    const events = await brain.until(() => terminal(brain.events('t1')) && brain.events('t1'));
    expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
    expect(messages(events)).to.deep.equal(['message 1', 'message 2', 'message 3']);
    expect(terminal(events)?.status).to.equal(TurnCompleted_Status.SUCCESS);
    expect(brain.receivedSeqs.length).to.equal(events.length);
    const started = events.find((event) => event.event?.kind.case === 'sessionStarted')?.event?.kind;
    expect(started?.case === 'sessionStarted' && started.value.cwd).to.equal(join(home.workspaceRoot, 'repo'));
    await brain.until(async () => (await readdir(join(home.dataDir, 'outbox'))).length === 0);
  });

  it('rejects a task past its capacity as retryable and a workspace escape as not retryable', async () => {
    await startDaemon(['--capacity', '1']);
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t-hang', { hang: true }) } } });
    await brain.until(() => brain.events('t-hang').length > 0);
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t-full', { messages: 1 }) } } });
    const full = await brain.until(() => sent(brain, 'taskRejected').find((rejection) => rejection.taskId === 't-full'));
    expect(full.retryable).to.equal(true);
    expect(full.leaseToken).to.equal('lease-t-full');
    expect(full.reason).to.contain('capacity');

    brain.current!.send({ kind: { case: 'cancelTask', value: { taskId: 't-hang', reason: 'cancelled by a user' } } });
    await brain.until(() => terminal(brain.events('t-hang')));
    expect(terminal(brain.events('t-hang'))?.status).to.equal(TurnCompleted_Status.CANCELLED);

    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t-escape', { messages: 1 }, { workspace: '../../etc' }) } } });
    const escape = await brain.until(() => sent(brain, 'taskRejected').find((rejection) => rejection.taskId === 't-escape'));
    expect(escape.retryable).to.equal(false);
    expect(escape.reason).to.contain('".."');

    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t-opencode', { messages: 1 }, { engine: 'gateway.opencode.v2' }) } } });
    const missing = await brain.until(() => sent(brain, 'taskRejected').find((rejection) => rejection.taskId === 't-opencode'));
    expect(missing.retryable).to.equal(true);
    expect(missing.reason).to.contain('not installed');
  });

  it('delivers every event exactly once and in order when the brain dies and comes back mid-turn', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { messages: 60, delayMs: 25 }) } } });
    await brain.until(() => brain.events('t1').length >= 10);
    await brain.stop();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await brain.start();
    const events = await brain.until(() => terminal(brain.events('t1')) && brain.events('t1'), 20_000);
    expect(brain.streams.length).to.be.at.least(2);
    expect(brain.streams.at(-1)!.hello!.heldTasks.map((held) => held.taskId)).to.deep.equal(['t1']);
    expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
    expect(messages(events)).to.deep.equal(Array.from({ length: 60 }, (_, i) => `message ${i + 1}`));
    expect(terminal(events)?.status).to.equal(TurnCompleted_Status.SUCCESS);
  });

  it('reports a turn the daemon died in as failed after its buffered events, when started again', async () => {
    const first = await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { messages: 50, delayMs: 100 }) } } });
    await brain.until(() => brain.events('t1').length >= 1);
    await brain.stop();
    // Events written while the brain is away stay in the outbox; then the daemon dies with its engine.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await first.stop('SIGKILL');
    await brain.start();
    await startDaemon();
    const events = await brain.until(() => terminal(brain.events('t1')) && brain.events('t1'));
    expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
    expect(terminal(events)?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(terminal(events)?.reason).to.equal('the node-agent restarted during the turn');
    expect(messages(events).length).to.be.at.least(1);
  });

  it('drops a task the brain no longer gives it (TASK_NOT_HELD) and keeps nothing of it', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { hang: true }) } } });
    await brain.until(() => brain.events('t1').length > 0);
    brain.current!.send({ kind: { case: 'cancelTask', value: { taskId: 't1', reason: 'TASK_NOT_HELD: the lease expired' } } });
    await daemon!.waitForLog('task ended');
    expect(await readdir(join(home.dataDir, 'outbox'))).to.deep.equal([]);
    expect(terminal(brain.events('t1'))).to.equal(undefined);
  });

  it('relays a tool call of the engine through the MCP bridge and the stream', async () => {
    await startDaemon();
    brain.current!.send({
      kind: { case: 'assignTask', value: { task: task('t1', { tool: { action: 'http.request', input: { url: 'http://example' } } }, { toolBridge: true }) } },
    });
    const call = await brain.until(() => sent(brain, 'toolCall')[0], 20_000);
    expect(call.taskId).to.equal('t1');
    expect(call.leaseToken).to.equal('lease-t1');
    expect(call.tool).to.equal('connector_action');
    expect(call.arguments).to.deep.equal({ action: 'http.request', input: { url: 'http://example' } });
    brain.current!.send({
      kind: { case: 'toolResult', value: { taskId: 't1', callId: call.callId, outcome: { case: 'result', value: { kind: { case: 'stringValue', value: 'created' } } } } },
    });
    const events = await brain.until(() => terminal(brain.events('t1')) && brain.events('t1'), 20_000);
    expect(messages(events)[0]).to.contain('created');
  });

  it('stops with exit code 4 and a pair-again message when the node is revoked', async () => {
    await brain.stop();
    brain = new FakeBrain({
      authorize: () => {
        throw platformError(Code.Unauthenticated, 'NODE_REVOKED', 'node revoked');
      },
    });
    brain.port = Number(new URL((await home.run(['status', '--json'])).stdout.match(/"server":"([^"]+)"/)![1]!).port);
    await brain.start();
    daemon = home.start();
    expect(await daemon.exited).to.equal(4);
    expect(daemon.stderr).to.contain('revoked');
    expect(daemon.stderr).to.contain('foundation-agent pair');
  });

  it('stops cleanly on SIGTERM: the running turn ends and its last events are delivered', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { hang: true }) } } });
    await brain.until(() => brain.events('t1').length > 0);
    expect(await daemon!.stop('SIGTERM')).to.equal(0);
    const last = terminal(brain.events('t1'));
    expect(last?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(last?.reason).to.equal('the node-agent was stopped during the turn');
    expect((await home.run(['status'])).stdout).to.contain('daemon:  not running');
    expect(daemon!.logs.map((line) => JSON.stringify(line)).join('\n')).not.to.contain('fnd_node_test');
  });

  it('extends the running task’s lease in every heartbeat', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { hang: true }) } } });
    const beat = await brain.until(() => sent(brain, 'heartbeat').find((heartbeat) => heartbeat.running.length > 0));
    expect(beat.running.map((lease) => [lease.taskId, lease.leaseToken])).to.deep.equal([['t1', 'lease-t1']]);
  });

  it('stops the held tasks a Welcome after a reconnect says it no longer holds', async () => {
    await startDaemon();
    brain.current!.send({ kind: { case: 'assignTask', value: { task: task('t1', { hang: true }) } } });
    await brain.until(() => brain.events('t1').length > 0);
    brain.droppedTaskIds.add('t1');
    brain.current!.end(new ConnectError('connection reset', Code.Unavailable));
    await daemon!.waitForLog('task dropped', 15_000);
    await daemon!.waitForLog('task ended');
    expect(await readdir(join(home.dataDir, 'outbox'))).to.deep.equal([]);
    expect(terminal(brain.events('t1'))).to.equal(undefined);
  });

  it('stops when the brain ends its stream because the same node connected elsewhere', async () => {
    await startDaemon();
    brain.current!.end(new ConnectError('this node connected again', Code.AlreadyExists));
    expect(await daemon!.exited).to.equal(1);
    expect(daemon!.stderr).to.contain('another foundation-agent connected with this node');
  });

  it('refuses to run twice on one data dir', async () => {
    await startDaemon();
    const second = await home.run(['start']);
    expect(second.code).to.equal(1);
    expect(second.stderr).to.contain('another foundation-agent');
  });
});
