import { Code } from '@connectrpc/connect';
import { Session_State } from '@foundation/contracts';
import { expectRpcError, invalidFieldOf } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { brainTask, brainTaskCountOf, CODEX, sessionCountOf, sessionsWithoutBrain, startSessionBench, taskOfTurn, type SessionBench } from './session-fixtures.js';

describe('SessionService', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());

  const create = (init: { engine?: string; workspace?: string; prompt?: string; executorId?: string; toolBridge?: boolean }, as = bench.orgA.as) =>
    bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the failing test', ...init }, as);

  describe('CreateSession()', () => {
    it('opens a PENDING session and hands its first turn to the brain as a task, pending while no node is connected', async () => {
      const { session } = await create({ prompt: 'Fix the failing test\nin src/app.ts', toolBridge: true });
      expect(session!.state).to.equal(Session_State.PENDING);
      expect(session!).to.include({ engine: CODEX, workspace: 'my-repo', title: 'Fix the failing test', turns: 1, executorId: '', createdBy: bench.orgA.account.userId });
      expect(session!.lastSeq).to.equal(0n);
      const task = await brainTask(bench, await taskOfTurn(bench, session!.id, 1));
      expect(task).to.include({
        org_id: bench.orgA.orgId,
        state: 'pending',
        engine: CODEX,
        workspace: 'my-repo',
        prompt: 'Fix the failing test\nin src/app.ts',
        resume_engine_session_id: '',
        tool_bridge: true,
        requested_executor_id: null,
      });
      const { session: read } = await bench.sessions.getSession({ sessionId: session!.id }, bench.orgA.as);
      expect(read!.id).to.equal(session!.id);
    });

    it('is RUNNING on the node at once when the brain assigned the task at once', async () => {
      const tenant = await bench.newTenant();
      const { executorId, node } = await bench.onlineNode(tenant);
      const { session } = await create({ executorId }, tenant.as);
      expect(session!.state).to.equal(Session_State.RUNNING);
      expect(session!.executorId).to.equal(executorId);
      const taskId = await taskOfTurn(bench, session!.id, 1);
      expect(await brainTask(bench, taskId)).to.include({ state: 'assigned', requested_executor_id: executorId, assigned_executor_id: executorId });
      expect((await node.next('assignTask')).task).to.include({ taskId, engine: CODEX, prompt: 'Fix the failing test' });
    });

    it('refuses an engine that does not exist (INVALID_ARGUMENT, UNSUPPORTED_ENGINE), naming those that do', async () => {
      const tasksBefore = await brainTaskCountOf(bench, bench.orgA.orgId);
      for (const engine of ['gateway.gpt.v1', '', 'codex']) {
        const error = await expectRpcError(create({ engine }), Code.InvalidArgument, 'UNSUPPORTED_ENGINE');
        expect(error.rawMessage).to.contain('gateway.codex.v2, gateway.claude.v2, gateway.opencode.v2');
      }
      expect(await brainTaskCountOf(bench, bench.orgA.orgId)).to.equal(tasksBefore);
    });

    it('refuses a bad workspace, prompt or executor id (INVALID_FIELD), naming the field', async () => {
      const tasksBefore = await brainTaskCountOf(bench, bench.orgA.orgId);
      const cases: [Parameters<typeof create>[0], string][] = [
        [{ workspace: '../x' }, 'workspace'],
        [{ workspace: 'repo/../../x' }, 'workspace'],
        [{ workspace: '/abs' }, 'workspace'],
        [{ workspace: 'C:\\work' }, 'workspace'],
        [{ workspace: '' }, 'workspace'],
        [{ workspace: 'w'.repeat(201) }, 'workspace'],
        [{ workspace: 'a\u0000b' }, 'workspace'],
        [{ prompt: '' }, 'prompt'],
        [{ prompt: '   \n' }, 'prompt'],
        [{ prompt: 'p'.repeat(256 * 1024 + 1) }, 'prompt'],
        [{ executorId: 'node-1' }, 'executor_id'],
      ];
      for (const [init, field] of cases) {
        const error = await expectRpcError(create(init), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error), JSON.stringify(init).slice(0, 80)).to.equal(field);
      }
      expect(await brainTaskCountOf(bench, bench.orgA.orgId)).to.equal(tasksBefore);
    });

    it('accepts a nested workspace and a prompt of exactly 256 KiB', async () => {
      const { session } = await create({ workspace: 'team/my-repo..old', prompt: 'p'.repeat(256 * 1024) });
      expect(session!.workspace).to.equal('team/my-repo..old');
      expect([...session!.title].length).to.equal(120);
    });

    it('relays the brain refusing the task (NOT_FOUND, ENGINE_NOT_AVAILABLE) and leaves no session behind', async () => {
      const before = await sessionCountOf(bench, bench.orgA.orgId);
      const tasksBefore = await brainTaskCountOf(bench, bench.orgA.orgId);
      await expectRpcError(create({ executorId: uuidv7() }), Code.NotFound, 'NOT_FOUND');
      // Paired but never connected: the node offers no engine yet.
      const { executorId } = await bench.pair(bench.orgA);
      const error = await expectRpcError(create({ executorId }), Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE');
      expect(error.rawMessage).to.contain(`does not offer ${CODEX}`);
      expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
      expect(await brainTaskCountOf(bench, bench.orgA.orgId)).to.equal(tasksBefore);
    });

    it('answers UNAVAILABLE (DEPENDENCY_UNAVAILABLE) when the brain cannot be reached, and leaves no session behind', async () => {
      const cutOff = await sessionsWithoutBrain(bench.platform);
      try {
        const before = await sessionCountOf(bench, bench.orgA.orgId);
        const error = await expectRpcError(
          cutOff.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'hello' }, bench.orgA.as),
          Code.Unavailable,
          'DEPENDENCY_UNAVAILABLE',
        );
        expect(error.rawMessage).to.contain('brain');
        expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
      } finally {
        await cutOff.close();
      }
    });
  });

  describe('GetSession()', () => {
    it('refuses a malformed id and answers NOT_FOUND for an unknown one', async () => {
      expect(invalidFieldOf(await expectRpcError(bench.sessions.getSession({ sessionId: 'nope' }, bench.orgA.as), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('session_id');
      await expectRpcError(bench.sessions.getSession({ sessionId: uuidv7() }, bench.orgA.as), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('ListSessions()', () => {
    it('lists the organization\'s sessions newest first, page by page', async () => {
      const { orgB } = bench;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { session } = await bench.sessions.createSession({ engine: CODEX, workspace: 'r', prompt: `task ${i}` }, orgB.as);
        ids.push(session!.id);
      }
      const seen: string[] = [];
      let pageToken = '';
      do {
        const res = await bench.sessions.listSessions({ page: { pageSize: 2, pageToken } }, orgB.as);
        seen.push(...res.sessions.map((s) => s.id));
        pageToken = res.page!.nextPageToken;
      } while (pageToken !== '');
      expect(seen).to.deep.equal([...ids].reverse());
      await expectRpcError(bench.sessions.listSessions({ page: { pageToken: 'garbage' } }, orgB.as), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });
});
