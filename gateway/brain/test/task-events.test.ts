import { create } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import {
  AgentEventSchema,
  AgentMessageSchema,
  HeldTaskSchema,
  Session_State,
  TaskEventSchema,
  TaskEventsSchema,
  TurnCompleted_Status,
  TurnCompletedSchema,
  type AgentEvent,
  type Task,
} from '@foundation/contracts';
import { defaultHello, eventually, withDatabase, type SimulatedNode } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, type BrainBench } from './brain-fixtures.js';

const LEASE_MS = 1_000;

const message = (text: string): AgentEvent => create(AgentEventSchema, { kind: { case: 'message', value: create(AgentMessageSchema, { text }) } });
const turnCompleted = (text: string): AgentEvent =>
  create(AgentEventSchema, { kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status: TurnCompleted_Status.SUCCESS, resultText: text }) } });

/**
 * The brain between a node and the session service: these need the session service's
 * SessionTaskSinkService (RecordTaskAssigned, RecordTaskEvents), so tasks start as sessions do, through
 * SessionService.CreateSession.
 */
describe('Task events through the session service (needs the session sink)', () => {
  let bench: BrainBench;
  before(async () => {
    bench = await startBrainBench({ FOUNDATION_TASK_LEASE: `${LEASE_MS}ms` });
  });
  afterEach(async () => {
    await bench.dropNodes();
    await withDatabase(bench.platform, 'superuser', (sql) => sql.query(`update brain.tasks set state = 'ended' where state <> 'ended'`));
  });
  after(() => bench?.close());
  const sessions = () => bench.platform.grpc.sessions;

  const onlineNode = async (name?: string, hello = defaultHello()) => {
    const paired = await bench.pair(bench.a, name);
    const node = bench.connect({ credential: paired.credential, first: { case: 'hello', value: hello }, heartbeatEveryMs: 100 });
    await node.next('welcome');
    return { ...paired, node };
  };
  const createSession = async (prompt = 'fix the tests') =>
    (await sessions().createSession({ engine: 'gateway.claude.v2', workspace: 'my-repo', prompt }, bench.asMember())).session!;
  const sendEvents = (node: SimulatedNode, task: Task, firstSeq: number, events: AgentEvent[]) =>
    node.send({
      case: 'taskEvents',
      value: create(TaskEventsSchema, {
        taskId: task.taskId,
        leaseToken: task.leaseToken,
        events: events.map((event, i) => create(TaskEventSchema, { seq: BigInt(firstSeq + i), time: timestampNow(), event })),
      }),
    });
  const sessionEvents = async (sessionId: string) => (await sessions().listSessionEvents({ sessionId, pageSize: 1000 }, bench.asMember())).events;

  it('acknowledges events once the session service persisted them, and stores a resent event once', async () => {
    const { node } = await onlineNode();
    const session = await createSession();
    const { task } = await node.next('assignTask');
    node.running.set(task!.taskId, task!.leaseToken);
    sendEvents(node, task!, 1, [message('one'), message('two')]);
    expect((await node.next('ack', (a) => a.seq === 2n)).taskId).to.equal(task!.taskId);
    sendEvents(node, task!, 2, [message('two'), message('three')]);
    await node.next('ack', (a) => a.seq === 3n);
    const events = await sessionEvents(session.id);
    expect(events.map((e) => (e.event!.kind.value as { text: string }).text)).to.deep.equal(['one', 'two', 'three']);
    await eventually(async () => expect((await sessions().getSession({ sessionId: session.id }, bench.asMember())).session!.state).to.equal(Session_State.RUNNING));
  });

  it('relays TaskEvents sent back to back together: each event persisted once, in order, and acknowledged', async () => {
    const { node } = await onlineNode();
    const session = await createSession();
    const { task } = await node.next('assignTask');
    node.running.set(task!.taskId, task!.leaseToken);
    const messages = 8;
    const texts = Array.from({ length: messages * 3 }, (_, i) => `event ${i + 1}`);
    for (let m = 0; m < messages; m++) sendEvents(node, task!, m * 3 + 1, texts.slice(m * 3, m * 3 + 3).map(message));
    await node.next('ack', (a) => a.seq === BigInt(texts.length));
    const events = await sessionEvents(session.id);
    expect(events.map((e) => (e.event!.kind.value as { text: string }).text)).to.deep.equal(texts);
    const acks = node.all('ack').map((a) => Number(a.seq));
    expect(acks).to.deep.equal([...acks].sort((x, y) => x - y));
    // The first message is relayed alone; the others wait behind it and go to the session service with each other.
    expect(acks.length).to.be.lessThan(messages);
  });

  it('ends the task on TurnCompleted and gives the freed capacity to the next pending task', async () => {
    const { node } = await onlineNode(undefined, defaultHello({ capacity: 1 }));
    const first = await createSession('first');
    const { task } = await node.next('assignTask');
    await createSession('second');
    sendEvents(node, task!, 1, [message('done'), turnCompleted('done')]);
    await node.next('ack', (a) => a.taskId === task!.taskId && a.seq === 2n);
    const next = await node.next('assignTask', (a) => a.task!.taskId !== task!.taskId);
    expect(next.task!.prompt).to.equal('second');
    await eventually(async () => expect((await sessions().getSession({ sessionId: first.id }, bench.asMember())).session!.state).to.equal(Session_State.IDLE));
  });

  it('acknowledges what is persisted in Welcome when the node comes back holding the task', async () => {
    const { credential, node } = await onlineNode();
    await createSession();
    const { task } = await node.next('assignTask');
    node.running.set(task!.taskId, task!.leaseToken);
    sendEvents(node, task!, 1, [message('one')]);
    await node.next('ack', (a) => a.seq === 1n);
    await node.kill();
    const heldTasks = [create(HeldTaskSchema, { taskId: task!.taskId, leaseToken: task!.leaseToken, lastSeq: 2n, running: true })];
    const back = bench.connect({ credential, first: { case: 'hello', value: defaultHello({ heldTasks }) }, heartbeatEveryMs: 100 });
    const welcome = await back.next('welcome');
    expect(welcome.droppedTaskIds).to.deep.equal([]);
    expect(welcome.acks.map((a) => ({ taskId: a.taskId, seq: a.seq }))).to.deep.equal([{ taskId: task!.taskId, seq: 1n }]);
  });

  it('fails a task whose node stopped reporting after its first events, naming the node', async () => {
    const { node } = await onlineNode('flaky-box');
    const session = await createSession();
    const { task } = await node.next('assignTask');
    sendEvents(node, task!, 1, [message('working')]);
    await node.next('ack', (a) => a.seq === 1n);
    // The heartbeats never list the task: its lease lapses.
    const ended = await eventually(async () => {
      const s = (await sessions().getSession({ sessionId: session.id }, bench.asMember())).session!;
      expect(s.state).to.equal(Session_State.FAILED);
      return s;
    }, 5 * LEASE_MS);
    expect(ended.reason).to.include('lease expired: node "flaky-box" stopped reporting');
    const events = await sessionEvents(session.id);
    expect(events.at(-1)!.event!.kind.case).to.equal('turnCompleted');
    expect((events.at(-1)!.event!.kind.value as { status: number }).status).to.equal(TurnCompleted_Status.FAILED);
    // The node learns it lost the task when it reports on it again.
    sendEvents(node, task!, 2, [message('late')]);
    expect((await node.next('cancelTask', (c) => c.taskId === task!.taskId)).reason).to.match(/^TASK_NOT_HELD/);
  });

  it('fails a task with stored events whose lease lapsed also when the brain did not write them down (it stopped right after their Ack)', async () => {
    const { node } = await onlineNode('crashed-between');
    const session = await createSession();
    const { task } = await node.next('assignTask');
    sendEvents(node, task!, 1, [message('working')]);
    await node.next('ack', (a) => a.seq === 1n);
    // What a brain that stopped between the Ack and writing down the task's first events leaves behind.
    await withDatabase(bench.platform, 'superuser', async (sql) => {
      await eventually(async () => expect((await sql.query('select last_seq from brain.tasks where id = $1', [task!.taskId])).rows[0]!['last_seq']).to.equal('1'));
      await sql.query('update brain.tasks set last_seq = 0 where id = $1', [task!.taskId]);
    });
    const other = await onlineNode('standby');
    const ended = await eventually(async () => {
      const s = (await sessions().getSession({ sessionId: session.id }, bench.asMember())).session!;
      expect(s.state).to.equal(Session_State.FAILED);
      return s;
    }, 5 * LEASE_MS);
    expect(ended.reason).to.include('lease expired: node "crashed-between" stopped reporting');
    const events = await sessionEvents(session.id);
    expect(events.map((e) => e.event!.kind.case)).to.deep.equal(['message', 'turnCompleted']);
    // Never run again elsewhere: its output would land after the first run's.
    expect(other.node.all('assignTask').filter((a) => a.task!.taskId === task!.taskId)).to.deep.equal([]);
  });

  it('fails the running tasks of a revoked node with "node revoked"', async () => {
    const { executorId, node } = await onlineNode();
    const session = await createSession();
    const { task } = await node.next('assignTask');
    node.running.set(task!.taskId, task!.leaseToken);
    await bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin());
    await eventually(async () => {
      const s = (await sessions().getSession({ sessionId: session.id }, bench.asMember())).session!;
      expect(s.state).to.equal(Session_State.FAILED);
      expect(s.reason).to.include('node revoked');
    });
  });

  it('cancels a pending task at once with a TurnCompleted(CANCELLED)', async () => {
    const session = await createSession();
    await sessions().cancelSession({ sessionId: session.id }, bench.asMember());
    await eventually(async () => expect((await sessions().getSession({ sessionId: session.id }, bench.asMember())).session!.state).to.equal(Session_State.CANCELLED));
    const { node } = await onlineNode();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(node.all('assignTask')).to.have.length(0);
  });
});
