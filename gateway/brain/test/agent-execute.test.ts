import { randomUUID } from 'node:crypto';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampNow, ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import {
  AgentEventSchema,
  AgentMessageSchema,
  EngineInstallationSchema,
  Session_State,
  TaskEventSchema,
  TaskEventsSchema,
  ToolCallSchema,
  TurnCompleted_Status,
  TurnCompletedSchema,
  type AgentEvent,
  type Session,
  type Task,
  type ToolError,
  type ToolResult,
} from '@foundation/contracts';
import { defaultHello, eventually, type SimulatedNode } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, type BrainBench } from './brain-fixtures.js';

const CODEX = 'gateway.codex.v2';
const CLAUDE = 'gateway.claude.v2';
const OPENCODE = 'gateway.opencode.v2';

const message = (text: string): AgentEvent => create(AgentEventSchema, { kind: { case: 'message', value: create(AgentMessageSchema, { text }) } });
const turnCompleted = (status: TurnCompleted_Status, resultText = '', reason = ''): AgentEvent =>
  create(AgentEventSchema, { kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status, resultText, reason }) } });

/**
 * agent_execute through the tool bridge, against the real platform: a calling node offering Codex (and
 * OpenCode) runs the parent session's turn and calls the tool; an agent node offering only Claude Code
 * receives the Claude children, so each side can be asserted on its own stream.
 */
describe('Tool bridge: agent_execute', () => {
  let bench: BrainBench;
  let caller: SimulatedNode;
  let agents: SimulatedNode;
  before(async () => {
    bench = await startBrainBench();
    const online = async (...engines: string[]) => {
      const paired = await bench.pair();
      const hello = defaultHello({ engines: engines.map((engine) => create(EngineInstallationSchema, { engine, version: '1.0.0' })), capacity: 16 });
      const node = bench.connect({ credential: paired.credential, first: { case: 'hello', value: hello }, heartbeatEveryMs: 100 });
      await node.next('welcome');
      return node;
    };
    caller = await online(CODEX, OPENCODE);
    agents = await online(CLAUDE);
  });
  after(() => bench?.close());

  const sessions = () => bench.platform.grpc.sessions;
  const getSession = async (sessionId: string) => (await sessions().getSession({ sessionId }, bench.asMember())).session!;

  /** A session with the tool bridge whose turn runs on the calling node. */
  const openParent = async (): Promise<{ session: Session; task: Task }> => {
    const prompt = `coordinate ${randomUUID()}`;
    const { session } = await sessions().createSession({ engine: CODEX, workspace: 'repo', prompt, toolBridge: true }, bench.asMember());
    const { task } = await caller.next('assignTask', (a) => a.task!.prompt === prompt);
    caller.running.set(task!.taskId, task!.leaseToken);
    return { session: session!, task: task! };
  };
  const callTool = (parent: Task, args: JsonObject, callId: string = randomUUID()): string => {
    caller.send({ case: 'toolCall', value: create(ToolCallSchema, { taskId: parent.taskId, leaseToken: parent.leaseToken, callId, tool: 'agent_execute', arguments: args }) });
    return callId;
  };
  const resultOf = (callId: string, timeoutMs = 10_000): Promise<ToolResult> => caller.next('toolResult', (r) => r.callId === callId, timeoutMs);
  const errorOf = async (callId: string): Promise<ToolError> => {
    const result = await resultOf(callId);
    expect(result.outcome.case).to.equal('error');
    return result.outcome.value as ToolError;
  };
  /** The child task `node` (the agent node by default) was given for `prompt`. */
  const childTask = async (prompt: string, node = agents): Promise<Task> => {
    const { task } = await node.next('assignTask', (a) => a.task!.prompt === prompt);
    node.running.set(task!.taskId, task!.leaseToken);
    return task!;
  };
  const report = (task: Task, events: AgentEvent[], node = agents) => {
    if (events.some((e) => e.kind.case === 'turnCompleted')) node.running.delete(task.taskId);
    node.send({
      case: 'taskEvents',
      value: create(TaskEventsSchema, {
        taskId: task.taskId,
        leaseToken: task.leaseToken,
        events: events.map((event, i) => create(TaskEventSchema, { seq: BigInt(i + 1), time: timestampNow(), event })),
      }),
    });
  };

  it('runs one turn of another agent as a child session and answers its final message', async () => {
    const parent = await openParent();
    const prompt = `write the changelog ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: CLAUDE, prompt });
    const child = await childTask(prompt);
    expect(child).to.include({ engine: CLAUDE, workspace: `tool-agents/${parent.task.taskId}`, toolBridge: false });
    report(child, [message('working on it'), turnCompleted(TurnCompleted_Status.SUCCESS, 'Changelog written.')]);

    const result = await resultOf(callId);
    expect(result.outcome.case).to.equal('result');
    const output = toJson(ValueSchema, result.outcome.value as Value) as { text: string; sessionId: string; status: string };
    expect(output).to.include({ text: 'Changelog written.', status: 'SUCCESS' });
    // The child is one of the organization's sessions, naming the session that called it.
    const session = await getSession(output.sessionId);
    expect(session).to.include({ engine: CLAUDE, parentSessionId: parent.session.id, state: Session_State.COMPLETED, createdBy: '', turns: 1 });
    expect(session.title).to.equal(prompt);
    const listed = (await sessions().listSessions({}, bench.asMember())).sessions;
    expect(listed.find((s) => s.id === output.sessionId)?.parentSessionId).to.equal(parent.session.id);
    expect((await getSession(parent.session.id)).parentSessionId).to.equal('');
  });

  it('runs the child on the calling node itself when that node offers the engine and has room', async () => {
    const parent = await openParent();
    const prompt = `summarize the logs ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: OPENCODE, prompt });
    const child = await childTask(prompt, caller);
    report(child, [turnCompleted(TurnCompleted_Status.SUCCESS, 'All quiet.')], caller);
    const result = await resultOf(callId);
    expect(toJson(ValueSchema, result.outcome.value as Value)).to.deep.include({ text: 'All quiet.', status: 'SUCCESS' });
  });

  it('starts one child per call id, however often the call arrives', async () => {
    const parent = await openParent();
    const prompt = `review the diff ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: CLAUDE, prompt, workspace: 'reviews/one' });
    callTool(parent.task, { engine: CLAUDE, prompt, workspace: 'reviews/one' }, callId);
    const child = await childTask(prompt);
    expect(child.workspace).to.equal('reviews/one');
    report(child, [turnCompleted(TurnCompleted_Status.SUCCESS, 'Looks good.')]);
    const results = await eventually(async () => {
      const answered = caller.all('toolResult').filter((r) => r.callId === callId);
      expect(answered).to.have.length(2);
      return answered.map((r) => toJson(ValueSchema, r.outcome.value as Value) as { text: string; sessionId: string });
    });
    expect(results[0]).to.deep.equal(results[1]);
    expect(agents.all('assignTask').filter((a) => a.task!.prompt === prompt)).to.have.length(1);
  });

  it('answers a turn that did not succeed with AGENT_<status> and the agent’s reason', async () => {
    const parent = await openParent();
    const prompt = `run the migration ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: CLAUDE, prompt });
    const child = await childTask(prompt);
    report(child, [message('trying'), turnCompleted(TurnCompleted_Status.FAILED, '', 'exited with code 1: relation "users" does not exist')]);
    expect(await errorOf(callId)).to.deep.include({ reason: 'AGENT_FAILED', message: 'exited with code 1: relation "users" does not exist' });
  });

  it('refuses an engine that does not exist, a workspace leaving the root and a timeout out of range, starting nothing', async () => {
    const parent = await openParent();
    expect(await errorOf(callTool(parent.task, { engine: 'gateway.hosted.v1', prompt: 'hello' }))).to.deep.include({ reason: 'UNSUPPORTED_ENGINE' });
    const escape = await errorOf(callTool(parent.task, { engine: CLAUDE, prompt: 'hello', workspace: '../elsewhere' }));
    expect(escape.reason).to.equal('INVALID_FIELD');
    expect(escape.message).to.match(/^workspace: /);
    expect(await errorOf(callTool(parent.task, { engine: CLAUDE, prompt: 'hello', timeout_seconds: 3601 }))).to.deep.include({ reason: 'INVALID_FIELD' });
    const children = (await sessions().listSessions({}, bench.asMember())).sessions.filter((s) => s.parentSessionId === parent.session.id);
    expect(children).to.have.length(0);
  });

  it('cancels the child when it does not finish within timeout_seconds', async () => {
    const parent = await openParent();
    const prompt = `refactor everything ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: CLAUDE, prompt, timeout_seconds: 1 });
    const child = await childTask(prompt);
    const error = await errorOf(callId);
    expect(error.reason).to.equal('AGENT_TIMEOUT');
    expect(error.message).to.include('within 1s');
    await agents.next('cancelTask', (c) => c.taskId === child.taskId);
    const [session] = (await sessions().listSessions({}, bench.asMember())).sessions.filter((s) => s.parentSessionId === parent.session.id);
    expect(session).to.include({ state: Session_State.CANCELLED, reason: 'agent_execute stopped waiting after 1s' });
  });

  it('cancels the child when the calling turn ends without waiting for it', async () => {
    const parent = await openParent();
    const prompt = `background chore ${randomUUID()}`;
    callTool(parent.task, { engine: CLAUDE, prompt });
    const child = await childTask(prompt);
    report(parent.task, [turnCompleted(TurnCompleted_Status.SUCCESS, 'Done without it.')], caller);
    await agents.next('cancelTask', (c) => c.taskId === child.taskId);
  });

  it('cancels the child when the calling session is cancelled', async () => {
    const parent = await openParent();
    const prompt = `long research ${randomUUID()}`;
    const callId = callTool(parent.task, { engine: CLAUDE, prompt });
    const child = await childTask(prompt);
    await sessions().cancelSession({ sessionId: parent.session.id }, bench.asMember());
    await caller.next('cancelTask', (c) => c.taskId === parent.task.taskId);
    await agents.next('cancelTask', (c) => c.taskId === child.taskId);
    expect(await errorOf(callId)).to.deep.include({ reason: 'CANCELLED' });
    await eventually(async () => {
      const [session] = (await sessions().listSessions({}, bench.asMember())).sessions.filter((s) => s.parentSessionId === parent.session.id);
      expect(session).to.include({ state: Session_State.CANCELLED, reason: 'the task that called agent_execute stopped' });
    });
  });
});
