import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { buildTargets, readConfig, type RunningTargets } from '@foundation/cli';
import {
  AgentEventSchema,
  AgentMessage_Role,
  AgentRunService,
  SessionService,
  SessionTaskSinkService,
  TaskEventSchema,
  type Session,
  type TaskEvent,
  type TurnCompleted_Status,
} from '@foundation/contracts';
import { createLogger, SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import { inOrg, signUp, startTestPlatform, uniqueSlug, withDatabase, type TestAccount, type TestPlatform } from '@foundation/testing';
import { FakeBrain } from './fake-brain.js';

/** One org with a member account, and call options for its tenant RPCs. */
export interface TestTenant {
  orgId: string;
  account: TestAccount;
  as: ReturnType<typeof inOrg>;
}

/**
 * The platform, plus a session service of its own (`--target=session`, as in a split deployment) whose
 * brain is a FakeBrain: sessions are tested through real gRPC, PostgreSQL and Redis, without nodes.
 */
export interface SessionBench {
  platform: TestPlatform;
  brain: FakeBrain;
  /** The split session server's base URL. */
  baseUrl: string;
  sessions: Client<typeof SessionService>;
  sink: Client<typeof SessionTaskSinkService>;
  agentRuns: Client<typeof AgentRunService>;
  /** Call options proving the caller is the brain (for the sink) or execution (for agent runs). */
  asBrain: { headers: Record<string, string> };
  asExecution: { headers: Record<string, string> };
  orgA: TestTenant;
  orgB: TestTenant;
  close(): Promise<void>;
}

export async function startSessionBench(): Promise<SessionBench> {
  const platform = await startTestPlatform();
  const brain = new FakeBrain();
  const brainUrl = await brain.listen();
  const server = await sessionServer(platform, brainUrl);
  const baseUrl = `http://127.0.0.1:${(await server.server.listen(0, '127.0.0.1')).port}`;
  const transport = createGrpcTransport({ baseUrl });
  const [orgA, orgB] = await Promise.all([tenant(platform), tenant(platform)]);
  return {
    platform,
    brain,
    baseUrl,
    sessions: createClient(SessionService, transport),
    sink: createClient(SessionTaskSinkService, transport),
    agentRuns: createClient(AgentRunService, transport),
    asBrain: await serviceCaller(platform, 'brain', SessionTaskSinkService.typeName),
    asExecution: await serviceCaller(platform, 'execution', AgentRunService.typeName),
    orgA,
    orgB,
    close: async () => {
      await server.close();
      await brain.close();
      await platform.close();
    },
  };
}

/** A session service of its own process role, calling the brain at `brainUrl`; it does not listen yet. */
export async function sessionServer(platform: TestPlatform, brainUrl: string): Promise<RunningTargets> {
  const config = readConfig({
    FOUNDATION_PORT: '0',
    FOUNDATION_AUTH_URL: platform.baseUrl,
    FOUNDATION_ORG_URL: platform.baseUrl,
    FOUNDATION_BRAIN_URL: brainUrl,
    FOUNDATION_SHUTDOWN_GRACE: '1s',
  });
  const log = createLogger({ level: 'info', target: 'session', destination: { write: () => undefined } });
  return buildTargets(config, new Set(['session']), { databaseAppUrl: platform.database.appUrl, redisUrl: platform.redis.url, serviceKey: platform.serviceKey }, log);
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

export const CODEX = 'gateway.codex.v2';
export const EXECUTOR_ID = '0190f5a8-7d2e-7a11-8c3b-5d2f9e1a0b01';

/** A session of org A, created with the fake brain waiting for a node; returns it and its first task id. */
export async function pendingSession(bench: SessionBench, prompt = 'Fix the failing test'): Promise<{ session: Session; taskId: string }> {
  const { session } = await bench.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt }, bench.orgA.as);
  return { session: session!, taskId: bench.brain.started.at(-1)!.taskId };
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

/** Every session row of an org, seen by the superuser. */
export function sessionCountOf(bench: SessionBench, orgId: string): Promise<number> {
  return withDatabase(bench.platform, 'superuser', async (client) => {
    const { rows } = await client.query('select count(*)::int as n from session.agent_sessions where org_id = $1', [orgId]);
    return rows[0].n as number;
  });
}
