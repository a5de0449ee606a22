import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { durationMs } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { Executor_State, HeartbeatSchema, HeldTaskSchema, TaskEventsSchema } from '@foundation/contracts';
import { defaultHello, eventually, expectRpcError, invalidFieldOf, type SimulatedNode } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, TEST_HEARTBEAT_MS, type BrainBench } from './brain-fixtures.js';

describe('BrainService: Connect()', () => {
  let bench: BrainBench;
  before(async () => {
    bench = await startBrainBench();
  });
  after(() => bench?.close());

  const stateOf = async (executorId: string, as = bench.asMember()) =>
    (await bench.platform.grpc.executors.getExecutor({ executorId }, as)).executor!;

  /** Expects the stream to end with `code` and `reason` (ErrorInfo). */
  const expectEnded = async (node: SimulatedNode, code: Code, reason?: string) => {
    const error = await node.ended;
    if (!error) throw new Error('the stream ended cleanly');
    return expectRpcError(Promise.reject(error), code, reason);
  };

  describe('credential', () => {
    it('refuses a stream without a credential with CREDENTIAL_MISSING', async () => {
      await expectEnded(bench.connect({}), Code.Unauthenticated, 'CREDENTIAL_MISSING');
    });

    it('refuses an unknown credential and a user access token with CREDENTIAL_INVALID', async () => {
      await expectEnded(bench.connect({ credential: 'fnd_node_' + 'A'.repeat(43) }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
      await expectEnded(bench.connect({ credential: bench.a.owner.accessToken }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
    });

    it('refuses a revoked node with NODE_REVOKED', async () => {
      const { executorId, credential } = await bench.pair();
      await bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin());
      await expectEnded(bench.connect({ credential }), Code.Unauthenticated, 'NODE_REVOKED');
    });

    it('cuts the stream of a node revoked while connected at once', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential, heartbeatEveryMs: 100 });
      await node.next('welcome');
      const asked = Date.now();
      const { executor } = await bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin());
      expect(executor!.state).to.equal(Executor_State.REVOKED);
      await expectEnded(node, Code.Unauthenticated, 'NODE_REVOKED');
      expect(Date.now() - asked).to.be.below(1_000);
    });
  });

  describe('Hello', () => {
    it('must come first: anything else ends the stream with MALFORMED_REQUEST', async () => {
      const { credential } = await bench.pair();
      const node = bench.connect({ credential, first: { case: 'heartbeat', value: create(HeartbeatSchema) } });
      await expectEnded(node, Code.InvalidArgument, 'MALFORMED_REQUEST');
    });

    it('may not come twice', async () => {
      const { credential } = await bench.pair();
      const node = bench.connect({ credential });
      await node.next('welcome');
      node.send({ case: 'hello', value: defaultHello() });
      await expectEnded(node, Code.InvalidArgument, 'MALFORMED_REQUEST');
    });

    it('ends the stream of a message over FOUNDATION_READ_MAX_BYTES with RESOURCE_EXHAUSTED, and the brain serves on', async () => {
      const { credential, executorId } = await bench.pair();
      const node = bench.connect({ credential });
      await node.next('welcome');
      const line = 'x'.repeat(5 * 1024 * 1024);
      node.send({
        case: 'taskEvents',
        value: create(TaskEventsSchema, {
          taskId: randomUUID(),
          leaseToken: 'lease',
          events: [{ seq: 1n, event: { kind: { case: 'raw', value: { line } } } }],
        }),
      });
      await expectEnded(node, Code.ResourceExhausted, 'REQUEST_TOO_LARGE');
      await eventually(async () => expect((await stateOf(executorId)).state).to.equal(Executor_State.OFFLINE));
      const again = bench.connect({ credential });
      await again.next('welcome');
      expect((await stateOf(executorId)).state).to.equal(Executor_State.ONLINE);
      await again.hangUp();
    });

    it('refuses a capacity outside 1 to 64 with INVALID_FIELD', async () => {
      const { credential } = await bench.pair();
      const node = bench.connect({ credential, first: { case: 'hello', value: defaultHello({ capacity: 65 }) } });
      expect(invalidFieldOf(await expectEnded(node, Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('hello.capacity');
    });

    it('is answered with Welcome: the node, its org, the heartbeat interval and the lease', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential });
      const welcome = await node.next('welcome');
      expect(welcome).to.deep.include({ executorId, orgId: bench.a.org.id, acks: [], droppedTaskIds: [] });
      expect(durationMs(welcome.heartbeatInterval!)).to.equal(TEST_HEARTBEAT_MS);
      expect(durationMs(welcome.leaseTtl!)).to.equal(60_000);
    });

    it('drops held tasks the brain does not give the node', async () => {
      const { credential } = await bench.pair();
      const heldTasks = [create(HeldTaskSchema, { taskId: randomUUID(), leaseToken: randomUUID(), lastSeq: 3n, running: true })];
      const node = bench.connect({ credential, first: { case: 'hello', value: defaultHello({ heldTasks }) } });
      const welcome = await node.next('welcome');
      expect(welcome.droppedTaskIds).to.deep.equal([heldTasks[0]!.taskId]);
    });
  });

  describe('liveness', () => {
    it('shows the node online with what its Hello said while the stream is open, offline as soon as it closes', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential, heartbeatEveryMs: 100 });
      await node.next('welcome');
      const online = await stateOf(executorId);
      expect(online.state).to.equal(Executor_State.ONLINE);
      expect(online.capacity).to.equal(2);
      expect(online.engines.map((e) => ({ engine: e.engine, version: e.version }))).to.deep.equal([
        { engine: 'gateway.claude.v2', version: '2.1.276 (Claude Code)' },
      ]);
      expect(online.lastSeenTime).to.not.equal(undefined);
      const listed = await bench.platform.grpc.executors.listExecutors({}, bench.asMember());
      expect(listed.executors.find((e) => e.id === executorId)?.state).to.equal(Executor_State.ONLINE);

      await node.hangUp();
      await eventually(async () => expect((await stateOf(executorId)).state).to.equal(Executor_State.OFFLINE), 1_000);
    });

    it('takes a node offline when its connection drops', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential, heartbeatEveryMs: 100 });
      await node.next('welcome');
      await node.kill();
      await eventually(async () => expect((await stateOf(executorId)).state).to.equal(Executor_State.OFFLINE), 1_000);
    });

    it('ends the stream of a node silent for three heartbeat intervals, which is then offline', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential });
      await node.next('welcome');
      const started = Date.now();
      await expectEnded(node, Code.DeadlineExceeded);
      expect(Date.now() - started).to.be.within(3 * TEST_HEARTBEAT_MS - 50, 3 * TEST_HEARTBEAT_MS + 1_000);
      await eventually(async () => expect((await stateOf(executorId)).state).to.equal(Executor_State.OFFLINE), 1_000);
    });

    it('keeps a node whose heartbeats arrive online past three intervals', async () => {
      const { executorId, credential } = await bench.pair();
      const node = bench.connect({ credential, heartbeatEveryMs: 100 });
      await node.next('welcome');
      await new Promise((resolve) => setTimeout(resolve, 4 * TEST_HEARTBEAT_MS));
      expect((await stateOf(executorId)).state).to.equal(Executor_State.ONLINE);
      node.stopHeartbeats();
    });

    it('ends the older stream with ALREADY_EXISTS when the node connects again, and keeps it online', async () => {
      const { executorId, credential } = await bench.pair();
      const first = bench.connect({ credential, heartbeatEveryMs: 100 });
      await first.next('welcome');
      const second = bench.connect({ credential, heartbeatEveryMs: 100 });
      await second.next('welcome');
      await expectEnded(first, Code.AlreadyExists);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await stateOf(executorId)).state).to.equal(Executor_State.ONLINE);
    });
  });

  describe('tenancy', () => {
    it('hides org A’s nodes from org B: not listed, NOT_FOUND to get and to revoke', async () => {
      const { executorId, credential } = await bench.pair(bench.a);
      const node = bench.connect({ credential, heartbeatEveryMs: 100 });
      await node.next('welcome');
      const listed = await bench.platform.grpc.executors.listExecutors({}, bench.asAdmin(bench.b));
      expect(listed.executors.map((e) => e.id)).not.to.include(executorId);
      await expectRpcError(bench.platform.grpc.executors.getExecutor({ executorId }, bench.asAdmin(bench.b)), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin(bench.b)), Code.NotFound, 'NOT_FOUND');
      expect((await stateOf(executorId)).state).to.equal(Executor_State.ONLINE);
    });

    it('lets only owners and admins revoke', async () => {
      const { executorId } = await bench.pair();
      await expectRpcError(bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asMember()), Code.PermissionDenied, 'ROLE_INSUFFICIENT');
    });
  });

  describe('ExecutorService: ListExecutors()', () => {
    it('pages newest first', async () => {
      const org = bench.b;
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await bench.pair(org)).executorId);
      const first = await bench.platform.grpc.executors.listExecutors({ page: { pageSize: 2 } }, bench.asMember(org));
      expect(first.executors.map((e) => e.id)).to.deep.equal([ids[2], ids[1]]);
      const second = await bench.platform.grpc.executors.listExecutors({ page: { pageSize: 2, pageToken: first.page!.nextPageToken } }, bench.asMember(org));
      expect(second.executors.map((e) => e.id)).to.deep.equal([ids[0]]);
      expect(second.page!.nextPageToken).to.equal('');
    });

    it('refuses an executor id that is not a UUID with INVALID_FIELD', async () => {
      await expectRpcError(bench.platform.grpc.executors.getExecutor({ executorId: 'nope' }, bench.asMember()), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });
});
