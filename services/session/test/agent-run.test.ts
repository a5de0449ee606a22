import { Code } from '@connectrpc/connect';
import { AgentRunService, Session_State, TurnCompleted_Status, type WatchAgentRunResponse } from '@foundation/contracts';
import { expectRpcError, invalidFieldOf } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  brainTask,
  brainTaskCountOf,
  CODEX,
  completed,
  message,
  serviceCaller,
  sessionCountOf,
  started,
  startSessionBench,
  taskEvents,
  taskOfTurn,
  type SessionBench,
} from './session-fixtures.js';

describe('AgentRunService', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());

  const orgId = () => bench.orgA.orgId;
  const start = (init: { orgId?: string; runId?: string; nodeId?: string; attempt?: number; engine?: string; workspace?: string; prompt?: string; executorId?: string } = {}) =>
    bench.agentRuns.startAgentRun(
      { orgId: orgId(), runId: uuidv7(), nodeId: 'agent', attempt: 1, engine: CODEX, workspace: 'repo', prompt: 'Summarize the issue', ...init },
      bench.asExecution,
    );

  it('refuses user tokens and services other than its callers (PERMISSION_DENIED, INTERNAL_ONLY)', async () => {
    const [asBrain, asWorkflow] = await Promise.all(['brain', 'workflow'].map((caller) => serviceCaller(bench.platform, caller, AgentRunService.typeName)));
    for (const options of [bench.orgA.as, asBrain, asWorkflow]) {
      await expectRpcError(bench.agentRuns.startAgentRun({ orgId: orgId() }, options), Code.PermissionDenied, 'INTERNAL_ONLY');
    }
    // The brain cancels the sessions of its agent_execute calls.
    for (const options of [bench.orgA.as, asWorkflow]) {
      await expectRpcError(bench.agentRuns.cancelAgentRun({ orgId: orgId(), sessionId: uuidv7() }, options), Code.PermissionDenied, 'INTERNAL_ONLY');
    }
  });

  describe('StartAgentRun()', () => {
    it('opens a one-turn session with the tool bridge, once per run, node and attempt', async () => {
      const runId = uuidv7();
      const { session } = await start({ runId });
      expect(session).to.include({ state: Session_State.PENDING, workflowRunId: runId, createdBy: '', turns: 1 });
      const taskId = await taskOfTurn(bench, session!.id, 1);
      expect(await brainTask(bench, taskId)).to.include({ state: 'pending', tool_bridge: true, prompt: 'Summarize the issue', engine: CODEX });
      const again = await start({ runId });
      expect(again.session!.id).to.equal(session!.id);
      // Still waiting: the task is handed to the brain again under the same id, which the brain takes once.
      expect(await brainTask(bench, taskId)).to.include({ state: 'pending' });
      expect(await taskOfTurn(bench, again.session!.id, 1)).to.equal(taskId);
      const [next, otherNode] = await Promise.all([start({ runId, attempt: 2 }), start({ runId, nodeId: 'other' })]);
      expect(new Set([session!.id, next.session!.id, otherNode.session!.id]).size).to.equal(3);
    });

    it("cancels the node's earlier attempts still under way, on their node, and nothing else, once", async () => {
      const tenant = await bench.newTenant();
      const { node } = await bench.onlineNode(tenant, { capacity: 4 });
      const [runId, otherRunId] = [uuidv7(), uuidv7()];
      const inTenant = (init: Parameters<typeof start>[0]) => start({ orgId: tenant.orgId, runId, ...init });
      // Attempt 1 runs on the node, as it was when its worker was killed.
      const { session: first } = await inTenant({});
      expect(first!.state).to.equal(Session_State.RUNNING);
      const taskId = await taskOfTurn(bench, first!.id, 1);
      const { task } = await node.next('assignTask', (a) => a.task?.taskId === taskId);
      node.running.set(task!.taskId, task!.leaseToken);
      const { session: otherNode } = await inTenant({ nodeId: 'other' });
      const { session: otherRun } = await inTenant({ runId: otherRunId });
      // The same run and node ids in another org: unlikely, yet out of reach all the same.
      const { session: otherOrg } = await start({ runId });

      const { session: second } = await inTenant({ attempt: 2 });
      const reason = 'superseded by attempt 2 of node agent: attempt 1 was still under way (its worker stopped, or its cancellation did not arrive)';
      expect((await node.next('cancelTask', (c) => c.taskId === taskId)).reason).to.equal(reason);
      expect((await bench.sessions.getSession({ sessionId: first!.id }, tenant.as)).session).to.include({ state: Session_State.CANCELLED, reason });
      expect(second!.id).to.not.equal(first!.id);
      expect(second!.state).to.equal(Session_State.RUNNING);
      for (const [session, as] of [[otherNode, tenant.as], [otherRun, tenant.as], [otherOrg, bench.orgA.as]] as const) {
        expect((await bench.sessions.getSession({ sessionId: session!.id }, as)).session!.state).to.equal(session!.state);
      }
      expect(await brainTask(bench, await taskOfTurn(bench, otherOrg!.id, 1))).to.include({ state: 'pending' });

      const again = await inTenant({ attempt: 2 });
      expect(again.session).to.include({ id: second!.id, state: Session_State.RUNNING });
      // The other node's and the other run's tasks run on the same node: it was told to stop attempt 1 only.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(node.all('cancelTask')).to.have.length(1);
    });

    it('refuses an attempt once a later attempt of the node started (FAILED_PRECONDITION, ATTEMPT_SUPERSEDED), opening nothing', async () => {
      const runId = uuidv7();
      const { session: third } = await start({ runId, attempt: 3 });
      const before = await sessionCountOf(bench, bench.orgA.orgId);
      for (const attempt of [1, 2]) {
        const error = await expectRpcError(start({ runId, attempt }), Code.FailedPrecondition, 'ATTEMPT_SUPERSEDED');
        expect(error.rawMessage).to.equal(`attempt ${attempt} of node agent is superseded: attempt 3 of it was already started`);
      }
      expect(await sessionCountOf(bench, bench.orgA.orgId)).to.equal(before);
      // The latest attempt itself is still idempotent, and other nodes of the run are not affected.
      expect((await start({ runId, attempt: 3 })).session!.id).to.equal(third!.id);
      expect((await start({ runId, nodeId: 'other', attempt: 1 })).session!.id).to.not.equal(third!.id);
    });

    it('validates as CreateSession does', async () => {
      await expectRpcError(start({ engine: 'gateway.hosted.v1' }), Code.InvalidArgument, 'UNSUPPORTED_ENGINE');
      const cases: [Parameters<typeof start>[0], string][] = [
        [{ workspace: '../escape' }, 'workspace'],
        [{ prompt: '' }, 'prompt'],
        [{ runId: 'run' }, 'run_id'],
        [{ nodeId: '' }, 'node_id'],
        [{ attempt: 0 }, 'attempt'],
      ];
      for (const [init, field] of cases) {
        expect(invalidFieldOf(await expectRpcError(start(init), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal(field);
      }
    });

    it('relays the brain refusing the task and leaves nothing behind, so a retry starts afresh', async () => {
      const tenant = await bench.newTenant();
      const paired = await bench.pair(tenant);
      const runId = uuidv7();
      // The node is paired but not connected yet, so it offers no engine.
      await expectRpcError(start({ orgId: tenant.orgId, runId, executorId: paired.executorId }), Code.FailedPrecondition, 'ENGINE_NOT_AVAILABLE');
      expect(await sessionCountOf(bench, tenant.orgId)).to.equal(0);
      const { node } = await bench.onlineNode(tenant);
      const { session } = await start({ orgId: tenant.orgId, runId });
      expect(session!.state).to.equal(Session_State.RUNNING);
      const { task } = await node.next('assignTask');
      expect(task).to.include({ taskId: await taskOfTurn(bench, session!.id, 1), toolBridge: true });
      expect(await brainTaskCountOf(bench, tenant.orgId)).to.equal(1);
    });
  });

  describe('WatchAgentRun()', () => {
    it('streams the turn and ends when it ends, the session COMPLETED', async () => {
      const { session } = await start();
      const taskId = await taskOfTurn(bench, session!.id, 1);
      await bench.sink.recordTaskEvents({ orgId: orgId(), taskId, events: taskEvents(1, [started('s-1'), message('working')]) }, bench.asBrain);
      const received: WatchAgentRunResponse[] = [];
      const watching = (async () => {
        for await (const res of bench.agentRuns.watchAgentRun({ orgId: orgId(), sessionId: session!.id }, bench.asExecution)) received.push(res);
      })();
      await bench.sink.recordTaskEvents({ orgId: orgId(), taskId, events: taskEvents(3, [completed(TurnCompleted_Status.SUCCESS)]) }, bench.asBrain);
      await watching;
      expect(received.map((r) => [Number(r.event!.seq), Session_State[r.state]])).to.deep.equal([
        [1, 'RUNNING'],
        [2, 'RUNNING'],
        [3, 'COMPLETED'],
      ]);
      const last = received[2]!.event!.event!.kind;
      expect(last.case === 'turnCompleted' && last.value.resultText).to.equal('done');
    });

    it('answers NOT_FOUND for a session of another organization', async () => {
      const { session } = await start();
      const watching = (async () => {
        for await (const _ of bench.agentRuns.watchAgentRun({ orgId: bench.orgB.orgId, sessionId: session!.id }, bench.asExecution)) expect.fail('an event of another org');
      })();
      await expectRpcError(watching, Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('CancelAgentRun()', () => {
    it('stops the task and ends the session as CANCELLED', async () => {
      const { session } = await start();
      await bench.agentRuns.cancelAgentRun({ orgId: orgId(), sessionId: session!.id }, bench.asExecution);
      await bench.agentRuns.cancelAgentRun({ orgId: orgId(), sessionId: session!.id }, bench.asExecution);
      const task = await brainTask(bench, await taskOfTurn(bench, session!.id, 1));
      expect(task).to.include({ state: 'ended', closing_status: 'cancelled', closing_reason: 'cancelled by its workflow run' });
      const { session: ended } = await bench.sessions.getSession({ sessionId: session!.id }, bench.orgA.as);
      expect(ended).to.include({ state: Session_State.CANCELLED, reason: 'cancelled by its workflow run' });
      await expectRpcError(bench.agentRuns.cancelAgentRun({ orgId: orgId(), sessionId: uuidv7() }, bench.asExecution), Code.NotFound, 'NOT_FOUND');
    });
  });
});
