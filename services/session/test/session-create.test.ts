import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SessionService, Session_State } from '@foundation/contracts';
import { findFreePort } from '@foundation/db';
import { rpcError } from '@foundation/kit';
import { expectRpcError, invalidFieldOf } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { CODEX, EXECUTOR_ID, sessionCountOf, sessionServer, startSessionBench, type SessionBench } from './session-fixtures.js';

describe('SessionService', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());
  beforeEach(() => bench.brain.reset());

  const create = (init: { engine?: string; workspace?: string; prompt?: string; executorId?: string; toolBridge?: boolean }) =>
    bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the failing test', ...init }, bench.orgA.as);

  describe('CreateSession()', () => {
    it('opens a PENDING session and hands its first turn to the brain as a task', async () => {
      const { session } = await create({ prompt: 'Fix the failing test\nin src/app.ts', toolBridge: true });
      expect(session!.state).to.equal(Session_State.PENDING);
      expect(session!).to.include({ engine: CODEX, workspace: 'my-repo', title: 'Fix the failing test', turns: 1, executorId: '', createdBy: bench.orgA.account.userId });
      expect(session!.lastSeq).to.equal(0n);
      expect(bench.brain.started).to.have.length(1);
      const task = bench.brain.started[0]!;
      expect(task).to.include({ orgId: bench.orgA.orgId, engine: CODEX, workspace: 'my-repo', prompt: 'Fix the failing test\nin src/app.ts', resumeEngineSessionId: '', toolBridge: true });
      const { session: read } = await bench.sessions.getSession({ sessionId: session!.id }, bench.orgA.as);
      expect(read!.id).to.equal(session!.id);
    });

    it('is RUNNING on the node at once when the brain assigned the task at once', async () => {
      bench.brain.startAnswer = EXECUTOR_ID;
      const { session } = await create({ executorId: EXECUTOR_ID });
      expect(session!.state).to.equal(Session_State.RUNNING);
      expect(session!.executorId).to.equal(EXECUTOR_ID);
      expect(bench.brain.started[0]!.executorId).to.equal(EXECUTOR_ID);
    });

    it('refuses an engine that does not exist (INVALID_ARGUMENT, UNSUPPORTED_ENGINE), naming those that do', async () => {
      for (const engine of ['gateway.gpt.v1', '', 'codex']) {
        const error = await expectRpcError(create({ engine }), Code.InvalidArgument, 'UNSUPPORTED_ENGINE');
        expect(error.rawMessage).to.contain('gateway.codex.v2, gateway.claude.v2, gateway.opencode.v2');
      }
      expect(bench.brain.started).to.have.length(0);
    });

    it('refuses a bad workspace, prompt or executor id (INVALID_FIELD), naming the field', async () => {
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
      expect(bench.brain.started).to.have.length(0);
    });

    it('accepts a nested workspace and a prompt of exactly 256 KiB', async () => {
      const { session } = await create({ workspace: 'team/my-repo..old', prompt: 'p'.repeat(256 * 1024) });
      expect(session!.workspace).to.equal('team/my-repo..old');
      expect([...session!.title].length).to.equal(120);
    });

    it('relays the brain refusing the task (NOT_FOUND, ENGINE_NOT_AVAILABLE) and leaves no session behind', async () => {
      const before = await sessionCountOf(bench, bench.orgA.orgId);
      bench.brain.startAnswer = rpcError(Code.NotFound, 'NOT_FOUND', 'executor x does not exist in this organization');
      await expectRpcError(create({ executorId: EXECUTOR_ID }), Code.NotFound, 'NOT_FOUND');
      bench.brain.startAnswer = rpcError(Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE', 'the node does not offer gateway.codex.v2');
      await expectRpcError(create({ executorId: EXECUTOR_ID }), Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE');
      expect(bench.brain.started).to.have.length(2);
      expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
    });

    it('answers UNAVAILABLE (DEPENDENCY_UNAVAILABLE) when the brain cannot be reached, and leaves no session behind', async () => {
      const cutOff = await sessionServer(bench.platform, `http://127.0.0.1:${await findFreePort()}`);
      const { port } = await cutOff.server.listen(0, '127.0.0.1');
      try {
        const sessions = createClient(SessionService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
        const before = await sessionCountOf(bench, bench.orgA.orgId);
        await expectRpcError(
          sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'hello' }, bench.orgA.as),
          Code.Unavailable,
          'DEPENDENCY_UNAVAILABLE',
        );
        expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
      } finally {
        await cutOff.close();
      }
    });

    it('answers UNAVAILABLE (DEPENDENCY_UNAVAILABLE) when the brain fails, and leaves no session behind', async () => {
      const before = await sessionCountOf(bench, bench.orgA.orgId);
      bench.brain.startAnswer = new ConnectError('boom', Code.Internal);
      const error = await expectRpcError(create({}), Code.Unavailable, 'DEPENDENCY_UNAVAILABLE');
      expect(error.rawMessage).to.contain('brain');
      expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
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
