import { Code } from '@connectrpc/connect';
import { Session_State, SessionTaskSinkService, TurnCompleted_Status } from '@foundation/contracts';
import { eventually, expectRpcError, invalidFieldOf, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  brainTask,
  CODEX,
  completed,
  EXECUTOR_ID,
  message,
  pendingSession,
  reportEvents,
  serviceCaller,
  sessionsWithoutBrain,
  started,
  startSessionBench,
  taskEvents,
  taskOfTurn,
  type SessionBench,
} from './session-fixtures.js';

describe('SessionTaskSinkService', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());

  const orgA = () => bench.orgA.orgId;
  const record = (taskId: string, events: ReturnType<typeof taskEvents>, orgId = orgA()) =>
    bench.sink.recordTaskEvents({ orgId, taskId, events }, bench.asBrain);
  const assign = (taskId: string, executorId = EXECUTOR_ID) => bench.sink.recordTaskAssigned({ orgId: orgA(), taskId, executorId }, bench.asBrain);
  const get = async (sessionId: string) => (await bench.sessions.getSession({ sessionId }, bench.orgA.as)).session!;
  const allEvents = async (sessionId: string) => (await bench.sessions.listSessionEvents({ sessionId, pageSize: 1000 }, bench.orgA.as)).events;

  it('refuses user tokens and services other than the brain (PERMISSION_DENIED, INTERNAL_ONLY)', async () => {
    const { taskId } = await pendingSession(bench);
    const asExecution = await serviceCaller(bench.platform, 'execution', SessionTaskSinkService.typeName);
    for (const options of [bench.orgA.as, asExecution]) {
      await expectRpcError(bench.sink.recordTaskAssigned({ orgId: orgA(), taskId, executorId: EXECUTOR_ID }, options), Code.PermissionDenied, 'INTERNAL_ONLY');
      await expectRpcError(bench.sink.recordTaskEvents({ orgId: orgA(), taskId, events: taskEvents(1, [message('x')]) }, options), Code.PermissionDenied, 'INTERNAL_ONLY');
    }
  });

  describe('RecordTaskAssigned()', () => {
    it('makes the session RUNNING on the node', async () => {
      const { session, taskId } = await pendingSession(bench);
      await assign(taskId);
      await assign(taskId);
      expect(await get(session.id)).to.include({ state: Session_State.RUNNING, executorId: EXECUTOR_ID });
    });

    it('refuses malformed ids and answers NOT_FOUND for a task that is no turn of the organization', async () => {
      const { taskId } = await pendingSession(bench);
      expect(invalidFieldOf(await expectRpcError(assign('nope'), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('task_id');
      expect(invalidFieldOf(await expectRpcError(assign(taskId, 'node'), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('executor_id');
      await expectRpcError(assign(uuidv7()), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(bench.sink.recordTaskAssigned({ orgId: bench.orgB.orgId, taskId, executorId: EXECUTOR_ID }, bench.asBrain), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('RecordTaskEvents()', () => {
    it('stores each event once when the same batch is recorded twice, and says what is persisted', async () => {
      const { session, taskId } = await pendingSession(bench);
      const batch = taskEvents(1, [started('thread-1'), message('one'), message('two')]);
      expect((await record(taskId, batch)).persistedSeq).to.equal(3n);
      expect((await record(taskId, batch)).persistedSeq).to.equal(3n);
      // Overlapping: 2 and 3 are known, 4 is new.
      expect((await record(taskId, taskEvents(2, [message('two'), message('three'), message('four')]))).persistedSeq).to.equal(4n);
      const events = await allEvents(session.id);
      expect(events.map((e) => e.seq)).to.deep.equal([1n, 2n, 3n, 4n]);
      expect(events.map((e) => (e.event!.kind.case === 'message' ? e.event!.kind.value.text : e.event!.kind.case))).to.deep.equal([
        'sessionStarted',
        'one',
        'two',
        'four',
      ]);
      expect(await get(session.id)).to.include({ state: Session_State.RUNNING, engineSessionId: 'thread-1', engineVersion: 'codex-cli 0.152.1' });
      expect((await get(session.id)).lastSeq).to.equal(4n);
    });

    it('stores what PostgreSQL cannot hold as text (NUL, a lone surrogate) with a replacement character', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, [message('bin\u0000ary \uD83D')]));
      const [event] = await allEvents(session.id);
      expect(event!.event!.kind.value).to.include({ text: 'bin\uFFFDary \uFFFD' });
    });

    it('refuses events that would leave a gap (FAILED_PRECONDITION) and stores none of them', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, [message('one')]));
      const error = await expectRpcError(record(taskId, taskEvents(3, [message('three')])), Code.FailedPrecondition, 'MALFORMED_REQUEST');
      expect(error.rawMessage).to.contain('next must be 2');
      expect((await get(session.id)).lastSeq).to.equal(1n);
      expect((await record(taskId, taskEvents(2, [message('two'), message('three')]))).persistedSeq).to.equal(3n);
    });

    it('refuses events that are not consecutive, or an unknown task', async () => {
      const { taskId } = await pendingSession(bench);
      const holes = [...taskEvents(1, [message('one')]), ...taskEvents(3, [message('three')])];
      expect(invalidFieldOf(await expectRpcError(record(taskId, holes), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('events[1].seq');
      expect(invalidFieldOf(await expectRpcError(record(taskId, taskEvents(0, [message('zero')])), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('events[0].seq');
      await expectRpcError(record(uuidv7(), taskEvents(1, [message('x')])), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(record(taskId, taskEvents(1, [message('x')]), bench.orgB.orgId), Code.NotFound, 'NOT_FOUND');
    });

    // [status, the session's state after it, the reason the node gives, the session's reason]
    const endings: [TurnCompleted_Status, Session_State, string, string][] = [
      [TurnCompleted_Status.SUCCESS, Session_State.IDLE, '', ''],
      [TurnCompleted_Status.FAILED, Session_State.FAILED, 'exited with code 1: boom', 'exited with code 1: boom'],
      [TurnCompleted_Status.TIMEOUT, Session_State.FAILED, 'idle timeout after 600s', 'idle timeout after 600s'],
      [TurnCompleted_Status.MAX_TURNS, Session_State.FAILED, '', 'the engine reached its maximum number of turns'],
      [TurnCompleted_Status.BUDGET_EXCEEDED, Session_State.FAILED, '', 'the engine exceeded its budget'],
      [TurnCompleted_Status.CANCELLED, Session_State.CANCELLED, '', 'the turn was cancelled'],
    ];
    for (const [status, state, given, reason] of endings) {
      it(`moves the session to ${Session_State[state]} on TurnCompleted(${TurnCompleted_Status[status]})`, async () => {
        const { session, taskId } = await pendingSession(bench);
        await assign(taskId);
        await record(taskId, taskEvents(1, [started('thread-1'), message('working'), completed(status, given)]));
        expect(await get(session.id)).to.include({ state, reason });
      });
    }
  });

  describe('a session across turns', () => {
    it('numbers events on across turns, resuming the engine session on the same node', async () => {
      const tenant = await bench.newTenant();
      const nodes = [await bench.onlineNode(tenant), await bench.onlineNode(tenant)];
      const { session } = await bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the failing test' }, tenant.as);
      expect(session!.state).to.equal(Session_State.RUNNING);
      const holder = nodes.find((n) => n.executorId === session!.executorId)!;
      const bystander = nodes.find((n) => n !== holder)!;
      const { task: first } = await holder.node.next('assignTask');
      reportEvents(holder.node, first!, 1, [started('thread-1'), message('first'), completed(TurnCompleted_Status.SUCCESS)]);
      await holder.node.next('ack', (a) => a.taskId === first!.taskId && a.seq === 3n);
      const late = bench.sink.recordTaskEvents({ orgId: tenant.orgId, taskId: first!.taskId, events: taskEvents(5, [message('late')]) }, bench.asBrain);
      await expectRpcError(late, Code.FailedPrecondition, 'MALFORMED_REQUEST');

      const { session: following } = await bench.sessions.sendMessage({ sessionId: session!.id, text: 'And the docs' }, tenant.as);
      expect(following).to.include({ state: Session_State.RUNNING, turns: 2, executorId: holder.executorId });
      const { task: second } = await holder.node.next('assignTask', (a) => a.task!.taskId !== first!.taskId);
      expect(second).to.include({ prompt: 'And the docs', resumeEngineSessionId: 'thread-1', engine: CODEX, workspace: 'my-repo' });
      expect(second!.taskId).to.equal(await taskOfTurn(bench, session!.id, 2));
      expect(bystander.node.all('assignTask')).to.have.length(0);
      await expectRpcError(bench.sessions.sendMessage({ sessionId: session!.id, text: 'more' }, tenant.as), Code.FailedPrecondition, 'SESSION_BUSY');

      reportEvents(holder.node, second!, 1, [message('second'), completed(TurnCompleted_Status.SUCCESS)]);
      await holder.node.next('ack', (a) => a.taskId === second!.taskId && a.seq === 2n);
      const events = (await bench.sessions.listSessionEvents({ sessionId: session!.id, pageSize: 1000 }, tenant.as)).events;
      expect(events.map((e) => [Number(e.seq), e.turn])).to.deep.equal([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 2],
        [5, 2],
      ]);
      expect((await bench.sessions.getSession({ sessionId: session!.id }, tenant.as)).session).to.include({ state: Session_State.IDLE, turns: 2 });

      const { session: closed } = await bench.sessions.closeSession({ sessionId: session!.id }, tenant.as);
      expect(closed!.state).to.equal(Session_State.COMPLETED);
      await expectRpcError(bench.sessions.sendMessage({ sessionId: session!.id, text: 'more' }, tenant.as), Code.FailedPrecondition, 'SESSION_FINISHED');
      await expectRpcError(bench.sessions.closeSession({ sessionId: session!.id }, tenant.as), Code.FailedPrecondition, 'SESSION_FINISHED');
    });

    it('leaves the session IDLE when the brain cannot take a follow-up turn', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, [started('thread-1'), completed(TurnCompleted_Status.SUCCESS)]));
      const cutOff = await sessionsWithoutBrain(bench.platform);
      try {
        await expectRpcError(cutOff.sessions.sendMessage({ sessionId: session.id, text: 'again' }, bench.orgA.as), Code.Unavailable, 'DEPENDENCY_UNAVAILABLE');
      } finally {
        await cutOff.close();
      }
      expect(await get(session.id)).to.include({ state: Session_State.IDLE, turns: 1 });
      expect((await bench.sessions.sendMessage({ sessionId: session.id, text: 'again' }, bench.orgA.as)).session!.turns).to.equal(2);
    });

    it('refuses SendMessage and CloseSession while a turn is under way (SESSION_BUSY)', async () => {
      const { session } = await pendingSession(bench);
      await expectRpcError(bench.sessions.sendMessage({ sessionId: session.id, text: 'more' }, bench.orgA.as), Code.FailedPrecondition, 'SESSION_BUSY');
      await expectRpcError(bench.sessions.closeSession({ sessionId: session.id }, bench.orgA.as), Code.FailedPrecondition, 'SESSION_BUSY');
      await expectRpcError(bench.sessions.sendMessage({ sessionId: session.id, text: '' }, bench.orgA.as), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });

  describe('CancelSession()', () => {
    it('stops the turn through the brain and ends the session as CANCELLED, once', async () => {
      const tenant = await bench.newTenant();
      const { node } = await bench.onlineNode(tenant);
      const { session } = await bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the failing test' }, tenant.as);
      const { task } = await node.next('assignTask');
      node.running.set(task!.taskId, task!.leaseToken);
      const { session: cancelled } = await bench.sessions.cancelSession({ sessionId: session!.id }, tenant.as);
      expect(cancelled).to.include({ state: Session_State.CANCELLED, reason: 'cancelled by a user' });
      expect((await node.next('cancelTask', (c) => c.taskId === task!.taskId)).reason).to.equal('cancelled by a user');
      // The node's last events still arrive, and the session stays cancelled.
      reportEvents(node, task!, 1, [completed(TurnCompleted_Status.CANCELLED, 'cancelled')]);
      await node.next('ack', (a) => a.taskId === task!.taskId && a.seq === 1n);
      const again = (await bench.sessions.cancelSession({ sessionId: session!.id }, tenant.as)).session!;
      expect(again).to.include({ state: Session_State.CANCELLED, reason: 'cancelled by a user' });
      expect(again.lastSeq).to.equal(1n);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(node.all('cancelTask')).to.have.length(1);
    });

    it('also stops a follow-up turn that started while the first was being stopped', async () => {
      const { session, taskId } = await pendingSession(bench);
      // Holding the first task's row makes the brain wait in CancelTask, which is the moment to race it.
      const cancelled = await withDatabase(bench.platform, 'superuser', async (sql) => {
        await sql.query('begin');
        await sql.query('select 1 from brain.tasks where id = $1 for update', [taskId]);
        const cancelling = bench.sessions.cancelSession({ sessionId: session.id }, bench.orgA.as);
        await eventually(async () => expect(await brainWaitingToClose()).to.equal(1));
        await record(taskId, taskEvents(1, [started('thread-1'), completed(TurnCompleted_Status.SUCCESS)]));
        await bench.sessions.sendMessage({ sessionId: session.id, text: 'sneaking in' }, bench.orgA.as);
        await sql.query('rollback');
        return (await cancelling).session!;
      });
      expect(cancelled).to.include({ state: Session_State.CANCELLED, turns: 2 });
      for (const task of [taskId, await taskOfTurn(bench, session.id, 2)]) {
        expect(await brainTask(bench, task)).to.include({ state: 'ended', closing_status: 'cancelled', closing_reason: 'cancelled by a user' });
      }
    });

    it('changes nothing when the brain cannot be told (UNAVAILABLE)', async () => {
      const { session, taskId } = await pendingSession(bench);
      const cutOff = await sessionsWithoutBrain(bench.platform);
      try {
        await expectRpcError(cutOff.sessions.cancelSession({ sessionId: session.id }, bench.orgA.as), Code.Unavailable, 'DEPENDENCY_UNAVAILABLE');
      } finally {
        await cutOff.close();
      }
      expect(await get(session.id)).to.include({ state: Session_State.PENDING });
      expect(await brainTask(bench, taskId)).to.include({ state: 'pending' });
    });
  });

  /** Brain statements waiting for a row lock to close a task (CancelTask of a pending task). */
  const brainWaitingToClose = () =>
    withDatabase(bench.platform, 'superuser', async (sql) => {
      const { rows } = await sql.query(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'update brain.tasks set state = ''closing''%'`,
      );
      return rows[0].n as number;
    });
});
