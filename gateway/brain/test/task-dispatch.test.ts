import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { EngineInstallationSchema, TaskEventSchema, TaskEventsSchema, TaskRejectedSchema } from '@foundation/contracts';
import { defaultHello, expectRpcError, invalidFieldOf, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, taskRequest, type BrainBench } from './brain-fixtures.js';

const LEASE_MS = 1_000;

describe('TaskService and dispatch (no session service needed)', () => {
  let bench: BrainBench;
  before(async () => {
    bench = await startBrainBench({ FOUNDATION_TASK_LEASE: `${LEASE_MS}ms` });
  });
  // Nodes and tasks a test leaves behind would take the next test's tasks, or go to its nodes.
  afterEach(async () => {
    await bench.dropNodes();
    await withDatabase(bench.platform, 'superuser', (sql) => sql.query(`update brain.tasks set state = 'ended' where state <> 'ended'`));
  });
  after(() => bench?.close());
  const orgA = () => bench.a.org.id;

  /** A paired node of org A, connected with auto-heartbeats, after its Welcome. */
  const onlineNode = async (hello = defaultHello()) => {
    const paired = await bench.pair();
    const node = bench.connect({ credential: paired.credential, first: { case: 'hello', value: hello }, heartbeatEveryMs: 100 });
    await node.next('welcome');
    return { ...paired, node };
  };

  describe('StartTask()', () => {
    it('refuses an engine that does not exist with UNSUPPORTED_ENGINE', async () => {
      await expectRpcError(bench.startTask(taskRequest(orgA(), { engine: 'gateway.gpt.v1' })), Code.InvalidArgument, 'UNSUPPORTED_ENGINE');
    });

    it('refuses an absolute workspace, one with "..", an empty prompt and a bad task id with INVALID_FIELD', async () => {
      for (const [overrides, field] of [
        [{ workspace: '/etc' }, 'workspace'],
        [{ workspace: 'repo/../../etc' }, 'workspace'],
        [{ workspace: '' }, 'workspace'],
        [{ prompt: ' ' }, 'prompt'],
        [{ taskId: 'task-1' }, 'task_id'],
      ] as const) {
        const error = await expectRpcError(bench.startTask(taskRequest(orgA(), overrides)), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal(field);
      }
    });

    it('answers NOT_FOUND for an executor of another org, ENGINE_NOT_AVAILABLE for one without the engine or revoked', async () => {
      const other = await bench.pair(bench.b);
      await expectRpcError(bench.startTask(taskRequest(orgA(), { executorId: other.executorId })), Code.NotFound, 'NOT_FOUND');
      const { executorId } = await onlineNode();
      await expectRpcError(bench.startTask(taskRequest(orgA(), { executorId, engine: 'gateway.codex.v2' })), Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE');
      await bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin());
      await expectRpcError(bench.startTask(taskRequest(orgA(), { executorId })), Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE');
    });

    it('hands the task at once to a connected node offering the engine, with a lease token and default timeouts', async () => {
      const { executorId, node } = await onlineNode();
      const request = taskRequest(orgA(), { resumeEngineSessionId: 'sess-1', toolBridge: true });
      const started = await bench.startTask(request);
      expect(started.executorId).to.equal(executorId);
      const { task } = await node.next('assignTask');
      expect(task).to.deep.include({ taskId: request.taskId, engine: 'gateway.claude.v2', workspace: 'my-repo', prompt: 'fix the tests', resumeEngineSessionId: 'sess-1', toolBridge: true });
      expect(task!.leaseToken).to.match(/^[0-9a-f-]{36}$/);
      expect(durationMs(task!.idleTimeout!)).to.equal(600_000);
      expect(durationMs(task!.wallClockTimeout!)).to.equal(7_200_000);
    });

    it('is idempotent on task_id: the task is assigned once', async () => {
      const { executorId, node } = await onlineNode();
      const request = taskRequest(orgA());
      await bench.startTask(request);
      expect((await bench.startTask(request)).executorId).to.equal(executorId);
      await node.next('assignTask');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(node.all('assignTask')).to.have.length(1);
    });

    it('keeps a task pending while no node offers the engine, and hands it to the first that connects', async () => {
      const request = taskRequest(orgA(), { engine: 'gateway.opencode.v2' });
      expect((await bench.startTask(request)).executorId).to.equal('');
      const { node } = await onlineNode(defaultHello({ engines: [create(EngineInstallationSchema, { engine: 'gateway.opencode.v2', version: '1.0.0' })] }));
      expect((await node.next('assignTask')).task!.taskId).to.equal(request.taskId);
    });

    it('never gives a node more tasks than its capacity', async () => {
      const { node } = await onlineNode(defaultHello({ capacity: 1 }));
      await bench.startTask(taskRequest(orgA()));
      await bench.startTask(taskRequest(orgA()));
      await node.next('assignTask');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(node.all('assignTask')).to.have.length(1);
    });

    it('gives a task naming an executor only to that node', async () => {
      const { node: bystander } = await onlineNode();
      const { executorId, node } = await onlineNode();
      const request = taskRequest(orgA(), { executorId });
      expect((await bench.startTask(request)).executorId).to.equal(executorId);
      await node.next('assignTask');
      expect(bystander.all('assignTask')).to.have.length(0);
    });

    it('never hands a task of org B to a node of org A', async () => {
      const { node } = await onlineNode();
      const request = taskRequest(bench.b.org.id);
      expect((await bench.startTask(request)).executorId).to.equal('');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(node.all('assignTask')).to.have.length(0);
    });
  });

  describe('leases', () => {
    it('extends the lease of a task the node lists in its heartbeats', async () => {
      const { node } = await onlineNode();
      const request = taskRequest(orgA());
      await bench.startTask(request);
      const { task } = await node.next('assignTask');
      node.running.set(task!.taskId, task!.leaseToken);
      await new Promise((resolve) => setTimeout(resolve, 2.5 * LEASE_MS));
      expect(node.all('cancelTask')).to.have.length(0);
      expect(node.all('assignTask')).to.have.length(1);
    });

    it('gives a task whose node stopped reporting before any event to another node', async () => {
      const { node: first } = await onlineNode(defaultHello({ capacity: 1 }));
      const request = taskRequest(orgA());
      await bench.startTask(request);
      const { task } = await first.next('assignTask');
      // The first node heartbeats without listing the task, so its lease lapses.
      await first.kill();
      const { node: second } = await onlineNode();
      const reassigned = await second.next('assignTask', (a) => a.task!.taskId === request.taskId, 4 * LEASE_MS);
      expect(reassigned.task!.leaseToken).to.not.equal(task!.leaseToken);
    });

    it('tells a node that reports a task it does not hold TASK_NOT_HELD, in heartbeats and in events', async () => {
      const { node } = await onlineNode();
      const taskId = randomUUID();
      node.running.set(taskId, randomUUID());
      const cancel = await node.next('cancelTask', (c) => c.taskId === taskId);
      expect(cancel.reason).to.match(/^TASK_NOT_HELD/);

      const other = randomUUID();
      node.send({
        case: 'taskEvents',
        value: create(TaskEventsSchema, { taskId: other, leaseToken: randomUUID(), events: [create(TaskEventSchema, { seq: 1n })] }),
      });
      expect((await node.next('cancelTask', (c) => c.taskId === other)).reason).to.match(/^TASK_NOT_HELD/);
      expect(node.all('ack')).to.have.length(0);
    });

    it('refuses a stale lease token for a task the node holds under a newer one', async () => {
      const { node } = await onlineNode();
      await bench.startTask(taskRequest(orgA()));
      const { task } = await node.next('assignTask');
      node.send({
        case: 'taskEvents',
        value: create(TaskEventsSchema, { taskId: task!.taskId, leaseToken: randomUUID(), events: [create(TaskEventSchema, { seq: 1n })] }),
      });
      expect((await node.next('cancelTask', (c) => c.taskId === task!.taskId)).reason).to.match(/^TASK_NOT_HELD/);
    });

    it('ends a task the session service has no session for: no Ack, the node told to drop it, its place freed', async () => {
      const { node } = await onlineNode(defaultHello({ capacity: 1 }));
      // Started straight on the brain, so no session has the task: as when the session service gave up on
      // StartTask and removed the session's rows.
      const orphan = taskRequest(orgA());
      await bench.startTask(orphan);
      const { task } = await node.next('assignTask');
      node.running.set(task!.taskId, task!.leaseToken);
      const waiting = taskRequest(orgA());
      await bench.startTask(waiting);
      node.send({
        case: 'taskEvents',
        value: create(TaskEventsSchema, { taskId: task!.taskId, leaseToken: task!.leaseToken, events: [create(TaskEventSchema, { seq: 1n })] }),
      });
      const cancel = await node.next('cancelTask', (c) => c.taskId === orphan.taskId);
      expect(cancel.reason).to.equal('TASK_NOT_HELD: the task has no session any more (its session was removed), so the brain ended it');
      node.running.delete(orphan.taskId);
      expect((await node.next('assignTask', (a) => a.task!.taskId === waiting.taskId)).task!.prompt).to.equal('fix the tests');
      const state = await withDatabase(bench.platform, 'superuser', async (sql) => (await sql.query('select state, closing_reason from brain.tasks where id = $1', [orphan.taskId])).rows[0]);
      expect(state).to.deep.equal({ state: 'ended', closing_reason: cancel.reason });
      expect(node.all('ack')).to.have.length(0);
      // Resending is answered the same way, never with an Ack.
      node.send({
        case: 'taskEvents',
        value: create(TaskEventsSchema, { taskId: task!.taskId, leaseToken: task!.leaseToken, events: [create(TaskEventSchema, { seq: 1n })] }),
      });
      await node.next('cancelTask', (c) => c.taskId === orphan.taskId && c.reason.startsWith('TASK_NOT_HELD: this node does not hold'));
      expect(node.all('ack')).to.have.length(0);
    });

    it('ends the stream with INVALID_ARGUMENT for more than 256 events in one message', async () => {
      const { node } = await onlineNode();
      const events = Array.from({ length: 257 }, (_, i) => create(TaskEventSchema, { seq: BigInt(i + 1) }));
      node.send({ case: 'taskEvents', value: create(TaskEventsSchema, { taskId: randomUUID(), leaseToken: randomUUID(), events }) });
      const error = await node.ended;
      await expectRpcError(Promise.reject(error), Code.InvalidArgument, 'MALFORMED_REQUEST');
    });
  });

  describe('TaskRejected and CancelTask()', () => {
    it('gives a task a node rejected as retryable to another node, never back to the first', async () => {
      const { node: first } = await onlineNode();
      const request = taskRequest(orgA());
      await bench.startTask(request);
      const { task } = await first.next('assignTask');
      const { node: second } = await onlineNode();
      first.send({
        case: 'taskRejected',
        value: create(TaskRejectedSchema, { taskId: task!.taskId, leaseToken: task!.leaseToken, reason: 'engine missing', retryable: true }),
      });
      await second.next('assignTask', (a) => a.task!.taskId === request.taskId);
      expect(first.all('assignTask')).to.have.length(1);
    });

    it('tells the node holding a task that a user cancelled it', async () => {
      const { node } = await onlineNode();
      const request = taskRequest(orgA());
      await bench.startTask(request);
      await node.next('assignTask');
      await bench.cancelTask(orgA(), request.taskId);
      expect((await node.next('cancelTask', (c) => c.taskId === request.taskId)).reason).to.equal('cancelled by a user');
    });

    it('answers NOT_FOUND for a task of another org', async () => {
      const request = taskRequest(orgA(), { engine: 'gateway.codex.v2' });
      await bench.startTask(request);
      await expectRpcError(bench.cancelTask(bench.b.org.id, request.taskId), Code.NotFound, 'NOT_FOUND');
    });
  });
});
