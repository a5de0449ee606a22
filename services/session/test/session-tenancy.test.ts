import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { Session_State, TurnCompleted_Status } from '@foundation/contracts';
import { expectRpcError, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { brainTask, completed, message, pendingSession, startSessionBench, taskEvents, type SessionBench } from './session-fixtures.js';

describe('Session tenancy', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());

  it("hides org A's session and events from org B: get, list, events, watch, send, close, cancel", async () => {
    const { session, taskId } = await pendingSession(bench);
    await bench.sink.recordTaskEvents({ orgId: bench.orgA.orgId, taskId, events: taskEvents(1, [message('secret plan')]) }, bench.asBrain);
    const sessionId = session.id;
    const asB = bench.orgB.as;
    await expectRpcError(bench.sessions.getSession({ sessionId }, asB), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(bench.sessions.listSessionEvents({ sessionId }, asB), Code.NotFound, 'NOT_FOUND');
    const watching = (async () => {
      for await (const res of bench.sessions.watchSession({ sessionId }, asB)) expect.fail(`org B saw event ${res.event?.seq}`);
    })();
    await expectRpcError(watching, Code.NotFound, 'NOT_FOUND');
    await expectRpcError(bench.sessions.sendMessage({ sessionId, text: 'hi' }, asB), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(bench.sessions.closeSession({ sessionId }, asB), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(bench.sessions.cancelSession({ sessionId }, asB), Code.NotFound, 'NOT_FOUND');
    const listed = await bench.sessions.listSessions({}, asB);
    expect(listed.sessions.map((s) => s.id)).to.not.include(sessionId);
    expect(await brainTask(bench, taskId)).to.include({ state: 'pending' });
    // Nothing changed for org A.
    const { session: after } = await bench.sessions.getSession({ sessionId }, bench.orgA.as);
    expect(after!.state).to.equal(Session_State.RUNNING);
    expect(after!.lastSeq).to.equal(1n);
  });

  it("lets the brain report org A's task only in org A's scope", async () => {
    const { session, taskId } = await pendingSession(bench);
    const events = taskEvents(1, [completed(TurnCompleted_Status.SUCCESS)]);
    await expectRpcError(bench.sink.recordTaskEvents({ orgId: bench.orgB.orgId, taskId, events }, bench.asBrain), Code.NotFound, 'NOT_FOUND');
    const { session: after } = await bench.sessions.getSession({ sessionId: session.id }, bench.orgA.as);
    expect(after!.lastSeq).to.equal(0n);
  });

  it("lets the brain mark org A's task assigned only in org A's scope", async () => {
    const { session, taskId } = await pendingSession(bench);
    const executorId = randomUUID();
    await expectRpcError(bench.sink.recordTaskAssigned({ orgId: bench.orgB.orgId, taskId, executorId }, bench.asBrain), Code.NotFound, 'NOT_FOUND');
    const { session: unchanged } = await bench.sessions.getSession({ sessionId: session.id }, bench.orgA.as);
    expect(unchanged).to.include({ state: Session_State.PENDING, executorId: '' });
    await bench.sink.recordTaskAssigned({ orgId: bench.orgA.orgId, taskId, executorId }, bench.asBrain);
    const { session: running } = await bench.sessions.getSession({ sessionId: session.id }, bench.orgA.as);
    expect(running).to.include({ state: Session_State.RUNNING, executorId });
  });

  it("keeps the session functions in the caller's org: another org's id finds nothing, no org finds nothing", async () => {
    const { taskId } = await pendingSession(bench);
    const rows = await withDatabase(bench.platform, 'app', async (client) => [
      ...(await client.query('select * from session.mark_assigned($1, $2, $3, now())', [bench.orgB.orgId, taskId, randomUUID()])).rows,
      ...(await client.query('select * from session.lock_task($1)', [taskId])).rows,
    ]);
    expect(rows).to.deep.equal([]);
    const { turnState } = await withDatabase(bench.platform, 'superuser', async (client) => ({
      turnState: (await client.query('select state from session.agent_session_turns where task_id = $1', [taskId])).rows[0].state as string,
    }));
    expect(turnState).to.equal('pending');
  });

  it('keeps every session table under row-level security: the app role sees no row without an org', async () => {
    await pendingSession(bench);
    const counts = await withDatabase(bench.platform, 'app', async (client) => {
      const tables = ['agent_sessions', 'agent_session_turns', 'agent_session_events'];
      return Promise.all(tables.map(async (t) => (await client.query(`select count(*)::int as n from session.${t}`)).rows[0].n as number));
    });
    expect(counts).to.deep.equal([0, 0, 0]);
  });
});
