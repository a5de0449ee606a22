// Coding agents end to end: real `foundation-agent start` daemons (child processes, the fake engine CLIs of
// node-agent/test/fixtures/bin first on their PATH) paired with and connected to the real platform over
// gRPC. One platform and three daemons serve every scenario (each daemon's FAKE_ENGINE_SCENARIO is what its
// engines do), so the order of the tests matters: the hang node is killed for good by the lease test, and the
// resume node is revoked last.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJson } from '@bufbuild/protobuf';
import { Code, type CallOptions } from '@connectrpc/connect';
import {
  Executor_State,
  RunEventSchema,
  RunStatus,
  Session_State,
  SessionEventSchema,
  TurnCompleted_Status,
  type SessionEvent,
  type WatchSessionResponse,
} from '@foundation/contracts';
import {
  AgentMachine,
  expectRpcError,
  inOrg,
  orgWithRoles,
  startTestPlatform,
  type AgentDaemon,
  type OrgWithRoles,
  type TestPlatform,
} from '@foundation/testing';
import { expect } from 'chai';
import { chainSpec, eventOf, publishedWorkflow, watchToEnd } from '../services/workflow/test/workflow-fixtures.js';

const FAKE_ENGINES = fileURLToPath(new URL('../node-agent/test/fixtures/bin', import.meta.url));
const SECRET_NAME = 'hook-token';
const CODEX = 'gateway.codex.v2';
const CLAUDE = 'gateway.claude.v2';

/** A request the local API received. */
interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local API that answers like an echo endpoint: it returns the Authorization header it was sent. */
async function startEchoApi(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      received.push({ method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path, authorization: req.headers.authorization ?? null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` every 50 ms until it returns something other than undefined. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `/proc/<pid>/stat`'s state and process group; undefined once the process is gone. */
async function procStat(pid: number): Promise<{ state: string; pgrp: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

/** Whether the process runs. Nothing reaps orphans on this machine, so a zombie counts as gone. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The pids of the process group that still run (zombies excluded). */
async function runningGroupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await procStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** Every engine process group a test saw, killed after the suite whatever happened. */
const engineGroups = new Set<number>();

/** The pids a fake engine of the `grandchild` scenario wrote: itself (its group's leader) and its `sleep`. */
function enginePids(file: string): { engine: number; grandchild: number } | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (text === '') return undefined;
  const pids = JSON.parse(text) as { engine: number; grandchild: number };
  engineGroups.add(pids.engine);
  return pids;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function turnCompletedOf(event: SessionEvent | undefined) {
  const kind = event?.event?.kind;
  return kind?.case === 'turnCompleted' ? kind.value : undefined;
}

/** A paired, connected daemon and where its engines note their pids. */
interface Node {
  machine: AgentMachine;
  daemon: AgentDaemon;
  executorId: string;
  pidFile: string;
}

describe('coding agents end to end: real foundation-agent daemons on the real platform', function () {
  this.timeout(30_000);

  let platform: TestPlatform;
  let api: Awaited<ReturnType<typeof startEchoApi>>;
  /** The org whose workflow runs agent.run; its only node's engine calls connector_action. */
  let orgW: OrgWithRoles;
  /** The org with the nodes of the session scenarios. */
  let orgA: OrgWithRoles;
  /** Another tenant, with no node of its own. */
  let orgB: OrgWithRoles;
  const secretValue = `sk-e2e-${randomBytes(16).toString('hex')}`;
  /** org W: engines run the `mcp-call` scenario (connector_action against the local API). */
  let toolNode: Node;
  /** org A: engines succeed, and a resumed turn says which session it resumed; revoked at the end. */
  let resumeNode: Node;
  /**
   * org A: engines write their pid file and hang (with a grandchild) until killed: cancel, the idle node that
   * org B's session must not reach, and lease expiry (the daemon is killed).
   */
  let hangNode: Node;
  const machines: AgentMachine[] = [];
  const daemons: AgentDaemon[] = [];

  const asW = () => inOrg(orgW.admin, orgW.org.id);
  const asA = () => inOrg(orgA.admin, orgA.org.id);
  const asB = () => inOrg(orgB.admin, orgB.org.id);

  async function startNode(org: OrgWithRoles, name: string, env: Record<string, string>): Promise<Node> {
    const machine = await AgentMachine.create({ path: [FAKE_ENGINES] });
    machines.push(machine);
    const pidFile = join(machine.dir, 'engine-pids.json');
    const { code } = await platform.grpc.pairing.createPairingCode({ label: name }, inOrg(org.admin, org.org.id));
    await machine.pair(platform.baseUrl, code, name);
    const daemon = machine.start(['--capacity', '2'], { FAKE_ENGINE_PID_FILE: pidFile, ...env });
    daemons.push(daemon);
    const connected = await daemon.waitForLog('connected to the brain', 20_000);
    const executorId = connected['executorId'] as string;
    await until(`${name} online`, async () => {
      const { executor } = await platform.grpc.executors.getExecutor({ executorId }, inOrg(org.admin, org.org.id));
      return executor?.state === Executor_State.ONLINE ? true : undefined;
    });
    return { machine, daemon, executorId, pidFile };
  }

  before(async function () {
    this.timeout(45_000);
    api = await startEchoApi();
    platform = await startTestPlatform({
      env: {
        FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: '300ms',
        FOUNDATION_TASK_LEASE: '3s',
        FOUNDATION_TASK_SWEEP_INTERVAL: '500ms',
        FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true',
      },
    });
    [orgW, orgA, orgB] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
    await platform.grpc.secrets.createSecret({ name: SECRET_NAME, value: secretValue }, asW());
    const toolCall = {
      action: 'http.request',
      input: { method: 'POST', url: `${api.url}/hooks/agent`, body: { json: { from: 'agent' } }, auth: { kind: 'bearer' } },
      secret: SECRET_NAME,
    };
    [toolNode, resumeNode, hangNode] = await Promise.all([
      startNode(orgW, 'tool-node', { FAKE_ENGINE_SCENARIO: 'mcp-call', FAKE_MCP_TOOL: 'connector_action', FAKE_MCP_ARGS: JSON.stringify(toolCall) }),
      startNode(orgA, 'resume-node', { FAKE_ENGINE_SCENARIO: 'success' }),
      startNode(orgA, 'hang-node', { FAKE_ENGINE_SCENARIO: 'grandchild' }),
    ]);
  });

  after(async function () {
    this.timeout(20_000);
    await Promise.all(daemons.map((daemon) => daemon.stop('SIGKILL')));
    for (const pgid of engineGroups) killGroup(pgid);
    await platform?.close();
    await api?.close();
    await Promise.all(machines.map((machine) => machine.remove()));
  });

  async function sessionEvents(sessionId: string, as: CallOptions = asA()): Promise<SessionEvent[]> {
    const { events, more } = await platform.grpc.sessions.listSessionEvents({ sessionId, pageSize: 1000 }, as);
    expect(more).to.equal(false);
    return events;
  }

  /** Watches the session from `afterSeq` until a response satisfies `done`; a FAILED session fails the wait. */
  async function watchSession(sessionId: string, afterSeq: bigint, done: (response: WatchSessionResponse) => boolean): Promise<WatchSessionResponse[]> {
    const seen: WatchSessionResponse[] = [];
    const stop = new AbortController();
    try {
      for await (const response of platform.grpc.sessions.watchSession({ sessionId, afterSeq }, { ...asA(), signal: stop.signal, timeoutMs: 15_000 })) {
        seen.push(response);
        if (done(response)) return seen;
        if (response.state === Session_State.FAILED) {
          const { session } = await platform.grpc.sessions.getSession({ sessionId }, asA());
          throw new Error(`session ${sessionId} failed: ${session?.reason}`);
        }
      }
    } finally {
      stop.abort();
    }
    throw new Error(`the watch of session ${sessionId} ended first`);
  }

  async function sessionState(sessionId: string, as: CallOptions = asA()) {
    const { session } = await platform.grpc.sessions.getSession({ sessionId }, as);
    return session!;
  }

  it('runs an agent.run workflow on a node whose agent calls connector_action through the MCP tool bridge with an org secret', async () => {
    const workflow = await publishedWorkflow(
      platform.grpc,
      chainSpec([{ id: 'agent', type: 'agent.run', config: { engine: CODEX, prompt: 'Tell the hook we are done' } }]),
      asW(),
    );
    const { run } = await platform.grpc.runs.startRun({ workflowId: workflow.id }, inOrg(orgW.member, orgW.org.id));
    const events = await watchToEnd(platform.grpc, run!.id, asW());
    const { run: ended } = await platform.grpc.runs.getRun({ runId: run!.id }, asW());
    expect(RunStatus[ended!.status], JSON.stringify(ended!.error)).to.equal(RunStatus[RunStatus.SUCCEEDED]);

    // The platform called the local API once, with the org's secret as the bearer token.
    expect(api.received.map((r) => `${r.method} ${r.path}`)).to.deep.equal(['POST /hooks/agent']);
    expect(api.received[0]!.headers.authorization).to.equal(`Bearer ${secretValue}`);
    expect(JSON.parse(api.received[0]!.body)).to.deep.equal({ from: 'agent' });

    // The agent's events are the run's node.agent_event events, numbered as in the session, the turn's end last.
    const agentEvents = events.filter((e) => e.type === 'node.agent_event' && e.nodeId === 'agent');
    const payloads = agentEvents.map((e) => e.payload as { sessionId: string; seq: number; event: Record<string, unknown> });
    expect(payloads.length).to.be.greaterThan(2);
    expect(payloads.map((p) => p.seq)).to.deep.equal(payloads.map((_, i) => i + 1));
    const runSeqs = agentEvents.map((e) => Number(e.seq));
    expect(runSeqs).to.deep.equal([...runSeqs].sort((a, b) => a - b));
    const kinds = payloads.map((p) => Object.keys(p.event)[0]);
    expect(kinds.slice(0, -1)).to.not.include('turnCompleted');
    expect(kinds.at(-1)).to.equal('turnCompleted');
    expect(kinds).to.include.members(['toolStarted', 'toolCompleted']);
    const turnCompleted = payloads.at(-1)!.event['turnCompleted'] as { status: string; resultText: string };
    expect(turnCompleted.status).to.equal('STATUS_SUCCESS');

    // The node's output text is the agent's final message: the tool's result, the echoed secret redacted.
    const output = eventOf(events, 'node.succeeded', 'agent').payload?.['output'] as { text: string; sessionId: string };
    const lastMessage = payloads.map((p) => p.event['message'] as { text: string } | undefined).filter((m) => m !== undefined).at(-1);
    expect(output.text).to.equal(lastMessage?.text);
    expect(output.text).to.equal(turnCompleted.resultText);
    expect(output.text.startsWith('the tool said: '), output.text).to.equal(true);
    const toolResult = JSON.parse(output.text.slice('the tool said: '.length)) as { status: number; body: { ok: boolean; authorization: string } };
    expect(toolResult.status).to.equal(200);
    expect(toolResult.body).to.deep.include({ ok: true, authorization: 'Bearer [REDACTED]' });

    // The session behind the node holds the same events.
    const sessionId = payloads[0]!.sessionId;
    expect(output.sessionId).to.equal(sessionId);
    const ofSession = await sessionEvents(sessionId, asW());
    expect(ofSession.map((e) => Number(e.seq))).to.deep.equal(payloads.map((p) => p.seq));
    expect((await sessionState(sessionId, asW())).executorId).to.equal(toolNode.executorId);

    // The secret is nowhere but in the request to the API: not in any event, platform log line or daemon output.
    const runEventsJson = JSON.stringify(events.map((e) => toJson(RunEventSchema, e)));
    const sessionEventsJson = JSON.stringify(ofSession.map((e) => toJson(SessionEventSchema, e)));
    expect(runEventsJson).to.include('[REDACTED]');
    expect(runEventsJson).to.not.include(secretValue);
    expect(sessionEventsJson).to.not.include(secretValue);
    expect(platform.logLines.length).to.be.greaterThan(0);
    expect(platform.logLines.filter((line) => line.includes(secretValue))).to.deep.equal([]);
    expect(toolNode.daemon.output).to.include('task started');
    for (const daemon of daemons) expect(daemon.output).to.not.include(secretValue);
  });

  it('carries a session across follow-up turns, the second resuming the engine session of the first', async () => {
    const { session } = await platform.grpc.sessions.createSession(
      { engine: CLAUDE, executorId: resumeNode.executorId, workspace: 'resume-repo', prompt: 'Fix the note' },
      asA(),
    );
    await watchSession(session!.id, 0n, (r) => r.state === Session_State.IDLE);
    const afterFirst = await sessionState(session!.id);
    expect(afterFirst.state).to.equal(Session_State.IDLE);
    expect(afterFirst.turns).to.equal(1);
    expect(afterFirst.engineVersion).to.contain('2.1.276');
    const firstEngineSession = afterFirst.engineSessionId;
    expect(firstEngineSession).to.not.equal('');

    await platform.grpc.sessions.sendMessage({ sessionId: session!.id, text: 'now add the tests' }, asA());
    // The fake claude exits 2 on arguments it does not expect, so a successful second turn took --resume=<id>.
    await watchSession(session!.id, afterFirst.lastSeq, (r) => r.state === Session_State.IDLE && r.event?.turn === 2);
    const afterSecond = await sessionState(session!.id);
    expect(afterSecond.turns).to.equal(2);
    expect(afterSecond.engineSessionId).to.equal(`${firstEngineSession}-resumed`);

    const events = await sessionEvents(session!.id);
    expect(events.map((e) => Number(e.seq))).to.deep.equal(events.map((_, i) => i + 1));
    const turns = events.map((e) => e.turn);
    expect(turns[0]).to.equal(1);
    expect(turns.at(-1)).to.equal(2);
    expect(turns).to.deep.equal([...turns].sort((a, b) => a - b));
    expect(Number(afterFirst.lastSeq)).to.equal(turns.lastIndexOf(1) + 1);
    const ends = events.filter((e) => turnCompletedOf(e) !== undefined);
    expect(ends.map((e) => [e.turn, turnCompletedOf(e)!.status])).to.deep.equal([
      [1, TurnCompleted_Status.SUCCESS],
      [2, TurnCompleted_Status.SUCCESS],
    ]);
    expect(events.indexOf(ends[0]!)).to.equal(turns.lastIndexOf(1));
    expect(events.indexOf(ends[1]!)).to.equal(events.length - 1);
    expect(turnCompletedOf(events.at(-1))?.resultText).to.equal(`resumed ${firstEngineSession}: now add the tests`);

    const { session: closed } = await platform.grpc.sessions.closeSession({ sessionId: session!.id }, asA());
    expect(closed!.state).to.equal(Session_State.COMPLETED);
    expect((await sessionState(session!.id)).state).to.equal(Session_State.COMPLETED);
  });

  it('cancels a hanging turn: CANCELLED, its TurnCompleted last, and the engine process group gone', async () => {
    rmSync(hangNode.pidFile, { force: true });
    const { session } = await platform.grpc.sessions.createSession(
      { engine: CODEX, executorId: hangNode.executorId, workspace: 'cancel-repo', prompt: 'wait for the model' },
      asA(),
    );
    const pids = await until('the engine started', () => enginePids(hangNode.pidFile));
    await until('the session running', async () => ((await sessionState(session!.id)).state === Session_State.RUNNING ? true : undefined));
    expect(await isRunning(pids.engine)).to.equal(true);
    expect(await isRunning(pids.grandchild)).to.equal(true);

    const { session: cancelled } = await platform.grpc.sessions.cancelSession({ sessionId: session!.id }, asA());
    expect(cancelled!.state).to.equal(Session_State.CANCELLED);
    const last = await until('the turn reported cancelled', async () => {
      const events = await sessionEvents(session!.id);
      return turnCompletedOf(events.at(-1)) ? events.at(-1) : undefined;
    });
    expect(turnCompletedOf(last)!.status).to.equal(TurnCompleted_Status.CANCELLED);
    // The node reports the end of a turn only once nothing of the engine's group runs.
    expect(await runningGroupMembers(pids.engine)).to.deep.equal([]);
    expect(await isRunning(pids.engine)).to.equal(false);
    expect(await isRunning(pids.grandchild)).to.equal(false);
    const ended = await sessionState(session!.id);
    expect(ended.state).to.equal(Session_State.CANCELLED);
    expect(ended.reason).to.equal('cancelled by a user');
  });

  it("keeps org B away from org A's nodes, sessions and events, and never dispatches B's session to A's node", async () => {
    // An A session with events to hide.
    const { session: sessionOfA } = await platform.grpc.sessions.createSession(
      { engine: CLAUDE, executorId: resumeNode.executorId, workspace: 'a-repo', prompt: 'Fix the note' },
      asA(),
    );
    await watchSession(sessionOfA!.id, 0n, (r) => r.state === Session_State.IDLE);
    const aNodes = [resumeNode, hangNode].map((node) => node.executorId);

    const { executors } = await platform.grpc.executors.listExecutors({}, asB());
    expect(executors.map((e) => e.id)).to.not.include.members(aNodes);
    expect(executors).to.deep.equal([]);
    for (const executorId of aNodes) {
      await expectRpcError(platform.grpc.executors.getExecutor({ executorId }, asB()), Code.NotFound);
    }
    await expectRpcError(platform.grpc.executors.revokeExecutor({ executorId: hangNode.executorId }, asB()), Code.NotFound);
    await expectRpcError(
      platform.grpc.sessions.createSession({ engine: CODEX, executorId: hangNode.executorId, workspace: 'b-repo', prompt: 'hi' }, asB()),
      Code.NotFound,
    );

    const sessionId = sessionOfA!.id;
    await expectRpcError(platform.grpc.sessions.getSession({ sessionId }, asB()), Code.NotFound);
    await expectRpcError(platform.grpc.sessions.listSessionEvents({ sessionId }, asB()), Code.NotFound);
    await expectRpcError(
      (async () => {
        for await (const _ of platform.grpc.sessions.watchSession({ sessionId }, { ...asB(), timeoutMs: 5_000 })) void _;
      })(),
      Code.NotFound,
    );
    await expectRpcError(platform.grpc.sessions.sendMessage({ sessionId, text: 'run this for B' }, asB()), Code.NotFound);
    await expectRpcError(platform.grpc.sessions.cancelSession({ sessionId }, asB()), Code.NotFound);
    await expectRpcError(platform.grpc.sessions.closeSession({ sessionId }, asB()), Code.NotFound);
    const { sessions: listedForB } = await platform.grpc.sessions.listSessions({}, asB());
    expect(listedForB.map((s) => s.id)).to.not.include(sessionId);
    const untouched = await sessionState(sessionId);
    expect(untouched.state).to.equal(Session_State.IDLE);
    expect(untouched.turns).to.equal(1);

    // B's session waits for a node of B, however many sweeps pass with A's node idle and online; an engine
    // started there would write the pid file again.
    rmSync(hangNode.pidFile, { force: true });
    const tasksStartedBefore = daemons.map((d) => d.logs.filter((line) => line['msg'] === 'task started').length);
    const { session: sessionOfB } = await platform.grpc.sessions.createSession({ engine: CODEX, workspace: 'b-repo', prompt: 'for B' }, asB());
    expect(sessionOfB!.state).to.equal(Session_State.PENDING);
    await sleep(2_000);
    const waiting = await sessionState(sessionOfB!.id, asB());
    expect(waiting.state).to.equal(Session_State.PENDING);
    expect(waiting.executorId).to.equal('');
    expect(waiting.lastSeq).to.equal(0n);
    expect(existsSync(hangNode.pidFile)).to.equal(false);
    expect(daemons.map((d) => d.logs.filter((line) => line['msg'] === 'task started').length)).to.deep.equal(tasksStartedBefore);
    const { executor: idle } = await platform.grpc.executors.getExecutor({ executorId: hangNode.executorId }, asA());
    expect(idle!.state).to.equal(Executor_State.ONLINE);
    expect(idle!.runningTasks).to.equal(0);

    // The same session in A runs on that node at once: its engine writes the pid file.
    const { session: control } = await platform.grpc.sessions.createSession(
      { engine: CODEX, executorId: hangNode.executorId, workspace: 'a-control', prompt: 'for A' },
      asA(),
    );
    await until('the engine of A started', () => enginePids(hangNode.pidFile));
    await platform.grpc.sessions.cancelSession({ sessionId: control!.id }, asA());
    await until('the control turn cancelled', async () => (turnCompletedOf((await sessionEvents(control!.id)).at(-1)) ? true : undefined));
    const { session: cancelledB } = await platform.grpc.sessions.cancelSession({ sessionId: sessionOfB!.id }, asB());
    expect(cancelledB!.state).to.equal(Session_State.CANCELLED);
    expect(cancelledB!.executorId).to.equal('');
  });

  it('fails a turn whose node died and never came back once its lease expires', async () => {
    rmSync(hangNode.pidFile, { force: true });
    const { session } = await platform.grpc.sessions.createSession(
      { engine: CODEX, executorId: hangNode.executorId, workspace: 'lease-repo', prompt: 'wait for the model' },
      asA(),
    );
    const pids = await until('the engine started', () => enginePids(hangNode.pidFile));
    // Some of the turn's events are persisted, so the task cannot simply be given to another node.
    await until('the turn started', async () => ((await sessionEvents(session!.id)).length > 0 ? true : undefined));
    await hangNode.daemon.stop('SIGKILL');
    killGroup(pids.engine);
    const killedAt = Date.now();

    const failed = await until(
      'the session failed',
      async () => {
        const state = await sessionState(session!.id);
        return state.state === Session_State.FAILED ? state : undefined;
      },
      15_000,
    );
    expect(Date.now() - killedAt).to.be.greaterThan(1_500);
    expect(failed.reason).to.match(/lease expired/);
    expect(failed.reason).to.contain('hang-node');
    const last = turnCompletedOf((await sessionEvents(session!.id)).at(-1));
    expect(last?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(last?.reason).to.equal(failed.reason);
    const { executor } = await platform.grpc.executors.getExecutor({ executorId: hangNode.executorId }, asA());
    expect(executor!.state).to.equal(Executor_State.OFFLINE);
  });

  it('stops a connected daemon with exit code 4 when an admin revokes its node', async () => {
    expect(resumeNode.daemon.running).to.equal(true);
    await platform.grpc.executors.revokeExecutor({ executorId: resumeNode.executorId }, asA());
    const code = await Promise.race([resumeNode.daemon.exited, sleep(5_000).then(() => 'still running')]);
    expect(code, resumeNode.daemon.stderr).to.equal(4);
    expect(resumeNode.daemon.stderr).to.contain('revoked');
    const { executors } = await platform.grpc.executors.listExecutors({}, asA());
    expect(executors.find((e) => e.id === resumeNode.executorId)?.state).to.equal(Executor_State.REVOKED);
  });
});
