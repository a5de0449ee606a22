import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { buildTargets, readConfig } from '@foundation/cli';
import {
  AgentEventSchema,
  AgentMessage_Role,
  AgentRunService,
  EngineInstallationSchema,
  SessionService,
  SessionTaskSinkService,
  TaskEventSchema,
  TaskEventsSchema,
  type Hello,
  type Session,
  type Task,
  type TaskEvent,
  type TurnCompleted_Status,
} from '@foundation/contracts';
import { findFreePort } from '@foundation/db';
import { createLogger, SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import {
  defaultHello,
  inOrg,
  pairNode,
  signUp,
  SimulatedNode,
  startTestPlatform,
  uniqueSlug,
  withDatabase,
  type PairedNode,
  type TestAccount,
  type TestPlatform,
} from '@foundation/testing';

export const CODEX = 'gateway.codex.v2';

/** One org with its owner's account, and call options for its tenant RPCs. */
export interface TestTenant {
  orgId: string;
  account: TestAccount;
  as: ReturnType<typeof inOrg>;
}

/**
 * The whole platform as `npm start` runs it, the real brain included, and two orgs. Tests of the sink act
 * as the brain by calling SessionTaskSinkService with the brain's service token; tests that need a node
 * to hold a task pair one and connect it over the real BrainService.Connect stream. Orgs A and B never
 * get a node, so their tasks stay pending in the brain for as long as a test needs.
 */
export interface SessionBench {
  platform: TestPlatform;
  sessions: Client<typeof SessionService>;
  sink: Client<typeof SessionTaskSinkService>;
  agentRuns: Client<typeof AgentRunService>;
  /** Call options proving the caller is the brain (for the sink) or execution (for agent runs). */
  asBrain: { headers: Record<string, string> };
  asExecution: { headers: Record<string, string> };
  orgA: TestTenant;
  orgB: TestTenant;
  /** A new org, for a test whose nodes must take its tasks only. */
  newTenant(): Promise<TestTenant>;
  /** Pairs a node in `tenant` (it offers no engine until it connects). */
  pair(tenant: TestTenant): Promise<PairedNode>;
  /** Pairs a node in `tenant` and connects it, offering Codex with capacity 2 unless `hello` says otherwise; after its Welcome. */
  onlineNode(tenant: TestTenant, hello?: Partial<Omit<Hello, '$typeName' | '$unknown'>>): Promise<PairedNode & { node: SimulatedNode }>;
  close(): Promise<void>;
}

export async function startSessionBench(): Promise<SessionBench> {
  const platform = await startTestPlatform();
  const transport = createGrpcTransport({ baseUrl: platform.baseUrl });
  const [orgA, orgB] = await Promise.all([tenant(platform), tenant(platform)]);
  const nodes: SimulatedNode[] = [];
  const pair = (t: TestTenant) => pairNode(platform.grpc, t.as);
  return {
    platform,
    sessions: platform.grpc.sessions,
    sink: createClient(SessionTaskSinkService, transport),
    agentRuns: createClient(AgentRunService, transport),
    asBrain: await serviceCaller(platform, 'brain', SessionTaskSinkService.typeName),
    asExecution: await serviceCaller(platform, 'execution', AgentRunService.typeName),
    orgA,
    orgB,
    newTenant: () => tenant(platform),
    pair,
    onlineNode: async (t, hello = {}) => {
      const paired = await pair(t);
      const engines = [create(EngineInstallationSchema, { engine: CODEX, version: 'codex-cli 0.152.1' })];
      const node = new SimulatedNode({
        baseUrl: platform.baseUrl,
        credential: paired.credential,
        first: { case: 'hello', value: defaultHello({ engines, ...hello }) },
        heartbeatEveryMs: 1_000,
      });
      nodes.push(node);
      await node.next('welcome');
      return { ...paired, node };
    },
    close: async () => {
      await Promise.all(nodes.map((n) => n.kill()));
      await platform.close();
    },
  };
}

/**
 * A session service of its own process (`--target=session`, as in a split deployment) whose brain is
 * unreachable: its FOUNDATION_BRAIN_URL names a port nobody listens on.
 */
export async function sessionsWithoutBrain(platform: TestPlatform): Promise<{ sessions: Client<typeof SessionService>; close(): Promise<void> }> {
  const config = readConfig({
    FOUNDATION_PORT: '0',
    FOUNDATION_AUTH_URL: platform.baseUrl,
    FOUNDATION_ORG_URL: platform.baseUrl,
    FOUNDATION_BRAIN_URL: `http://127.0.0.1:${await findFreePort()}`,
    FOUNDATION_SHUTDOWN_GRACE: '1s',
  });
  const log = createLogger({ level: 'info', target: 'session', destination: { write: () => undefined } });
  const running = await buildTargets(config, new Set(['session']), { databaseAppUrl: platform.database.appUrl, redisUrl: platform.redis.url, serviceKey: platform.serviceKey }, log);
  const { port } = await running.server.listen(0, '127.0.0.1');
  return { sessions: createClient(SessionService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` })), close: () => running.close() };
}

async function tenant(platform: TestPlatform): Promise<TestTenant> {
  const account = await signUp(platform.grpc);
  const { org } = await platform.grpc.org.createOrg({ name: 'Sessions Org', slug: uniqueSlug('sessions') }, account.as);
  return { orgId: org!.id, account, as: inOrg(account, org!.id) };
}

/** Call options carrying a service token of `caller` for `service`. */
export async function serviceCaller(platform: TestPlatform, caller: string, service: string) {
  return { headers: { [SERVICE_TOKEN_HEADER]: await new ServiceTokenIssuer(platform.serviceKey, caller).tokenFor(service) } };
}

/** An executor id the sink accepts as the node a task went to (the sink records it; it is no paired node). */
export const EXECUTOR_ID = '0190f5a8-7d2e-7a11-8c3b-5d2f9e1a0b01';

/** A session of org A, its first turn pending in the brain (org A has no node); returns it and that turn's task id. */
export async function pendingSession(bench: SessionBench, prompt = 'Fix the failing test'): Promise<{ session: Session; taskId: string }> {
  const { session } = await bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt }, bench.orgA.as);
  return { session: session!, taskId: await taskOfTurn(bench, session!.id, 1) };
}

/** The brain task of a session's turn. */
export function taskOfTurn(bench: SessionBench, sessionId: string, turn: number): Promise<string> {
  return withDatabase(bench.platform, 'superuser', async (client) => {
    const { rows } = await client.query('select task_id from session.agent_session_turns where session_id = $1 and turn = $2', [sessionId, turn]);
    if (!rows[0]) throw new Error(`session ${sessionId} has no turn ${turn}`);
    return rows[0].task_id as string;
  });
}

/** A task as the brain stored it, in the brain's column names; undefined when the brain has no such task. */
export function brainTask(bench: SessionBench, taskId: string): Promise<Record<string, unknown> | undefined> {
  return withDatabase(bench.platform, 'superuser', async (client) => (await client.query('select * from brain.tasks where id = $1', [taskId])).rows[0]);
}

/** How many tasks the brain has of an org. */
export function brainTaskCountOf(bench: SessionBench, orgId: string): Promise<number> {
  return withDatabase(bench.platform, 'superuser', async (client) => {
    const { rows } = await client.query('select count(*)::int as n from brain.tasks where org_id = $1', [orgId]);
    return rows[0].n as number;
  });
}

/** Every session row of an org, seen by the superuser. */
export function sessionCountOf(bench: SessionBench, orgId: string): Promise<number> {
  return withDatabase(bench.platform, 'superuser', async (client) => {
    const { rows } = await client.query('select count(*)::int as n from session.agent_sessions where org_id = $1', [orgId]);
    return rows[0].n as number;
  });
}

type AgentEventInit = MessageInitShape<typeof AgentEventSchema>;

/** Task events numbered from `firstSeq`. */
export function taskEvents(firstSeq: number, events: AgentEventInit[]): TaskEvent[] {
  return events.map((event, i) => create(TaskEventSchema, { seq: BigInt(firstSeq + i), event }));
}

export const message = (text: string): AgentEventInit => ({ kind: { case: 'message', value: { role: AgentMessage_Role.ASSISTANT, text } } });
export const started = (engineSessionId: string, cliVersion = 'codex-cli 0.152.1'): AgentEventInit => ({
  kind: { case: 'sessionStarted', value: { engineSessionId, cliVersion } },
});
export const completed = (status: TurnCompleted_Status, reason = ''): AgentEventInit => ({
  kind: { case: 'turnCompleted', value: { status, reason, resultText: 'done' } },
});

/** Sends a task's events over the node's stream, as the node-agent does, numbered from `firstSeq`. */
export function reportEvents(node: SimulatedNode, task: Task, firstSeq: number, events: AgentEventInit[]): void {
  node.send({ case: 'taskEvents', value: create(TaskEventsSchema, { taskId: task.taskId, leaseToken: task.leaseToken, events: taskEvents(firstSeq, events) }) });
}
