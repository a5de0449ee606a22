import { getOption, type DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import {
  Access,
  AgentRunService,
  AuthService,
  internal_callers,
  OrgService,
  RunProgressService,
  RunService,
  SecretsService,
  SessionTaskSinkService,
  TaskService,
  WorkflowService,
} from '@foundation/contracts';
import { methodAccess, reasonOf, SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import { expectRpcError, signUp, startTestPlatform, type TestAccount, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

const SERVICES = [AuthService, OrgService, SecretsService, WorkflowService, RunService, RunProgressService, TaskService, SessionTaskSinkService, AgentRunService];

/** Every ACCESS_INTERNAL RPC of these services, found from the contracts; CALLERS below must name each one's callers. */
const INTERNAL_RPCS = SERVICES.flatMap((service) =>
  service.methods.filter((m) => methodAccess(m) === Access.INTERNAL).map((method) => ({ service, method })),
);

/** The services that sign service tokens (every process identity). */
const FOUNDATION_SERVICES = ['auth', 'org', 'secrets', 'workflow', 'execution', 'session', 'brain'];

/**
 * Who may call each internal RPC, as the design says; [] is any Foundation service. The contracts'
 * `internal_callers` must say exactly this, and the platform must admit exactly these.
 */
const CALLERS: Record<string, string[]> = {
  'foundation.auth.v1.AuthService/LookupUser': ['org'],
  'foundation.org.v1.OrgService/CheckMembership': [],
  'foundation.secrets.v1.SecretsService/ResolveSecret': ['execution', 'brain'],
  'foundation.workflow.v1.RunProgressService/ClaimRun': ['execution'],
  'foundation.workflow.v1.RunProgressService/ReportProgress': ['execution'],
  'foundation.agent.v1.TaskService/StartTask': ['session'],
  'foundation.agent.v1.TaskService/CancelTask': ['session'],
  'foundation.session.v1.SessionTaskSinkService/RecordTaskAssigned': ['brain'],
  'foundation.session.v1.SessionTaskSinkService/RecordTaskEvents': ['brain'],
  'foundation.session.v1.AgentRunService/StartAgentRun': ['execution'],
  'foundation.session.v1.AgentRunService/StartToolAgent': ['brain'],
  'foundation.session.v1.AgentRunService/WatchAgentRun': ['execution', 'brain'],
  'foundation.session.v1.AgentRunService/CancelAgentRun': ['execution', 'brain'],
};

const rpcName = (service: (typeof SERVICES)[number], method: DescMethod) => `${service.typeName}/${method.name}`;

describe('Internal RPCs', () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let apiToken: string;
  before(async () => {
    platform = await startTestPlatform();
    account = await signUp(platform.grpc);
    apiToken = (await platform.grpc.auth.createApiToken({ name: 'probe' }, account.as)).token;
  });
  after(() => platform.close());

  /** Calls `method` with an empty request over gRPC with the given headers; a stream is read to its end. */
  const call = async (service: (typeof SERVICES)[number], method: DescMethod, headers: Record<string, string>) => {
    const client = createClient(service, createGrpcTransport({ baseUrl: platform.baseUrl })) as unknown as Record<string, (req: object, options: object) => unknown>;
    const result = client[method.localName]!({}, { headers });
    if (method.methodKind === 'server_streaming') {
      for await (const _ of result as AsyncIterable<unknown>);
      return;
    }
    await result;
  };
  const asService = async (caller: string, service: (typeof SERVICES)[number]) => ({
    [SERVICE_TOKEN_HEADER]: await new ServiceTokenIssuer(platform.serviceKey, caller).tokenFor(service.typeName),
  });

  it('exist (the list below is not empty)', () => {
    expect(INTERNAL_RPCS.map((r) => r.method.name)).to.include.members([
      'LookupUser',
      'CheckMembership',
      'ResolveSecret',
      'ClaimRun',
      'ReportProgress',
      'StartTask',
      'CancelTask',
      'RecordTaskAssigned',
      'RecordTaskEvents',
      'StartAgentRun',
      'StartToolAgent',
      'WatchAgentRun',
      'CancelAgentRun',
    ]);
  });

  it('name in the contracts exactly the callers listed here', () => {
    const declared = Object.fromEntries(INTERNAL_RPCS.map(({ service, method }) => [rpcName(service, method), getOption(method, internal_callers)]));
    expect(declared).to.deep.equal(CALLERS);
  });

  for (const { service, method } of INTERNAL_RPCS) {
    describe(`${service.typeName}/${method.name}`, () => {
      it('refuses a user access token', async () => {
        await expectRpcError(call(service, method, account.as.headers), Code.PermissionDenied, 'INTERNAL_ONLY');
      });

      it('refuses an API token', async () => {
        await expectRpcError(call(service, method, { authorization: `Bearer ${apiToken}` }), Code.PermissionDenied, 'INTERNAL_ONLY');
      });

      it('refuses a service token meant for another service', async () => {
        const other = service === AuthService ? OrgService : AuthService;
        const token = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(other.typeName);
        await expectRpcError(call(service, method, { [SERVICE_TOKEN_HEADER]: token }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
      });

      const callers = CALLERS[rpcName(service, method)] ?? [];
      const admitted = callers.length === 0 ? FOUNDATION_SERVICES : callers;
      it(`admits ${callers.length === 0 ? 'any Foundation service' : callers.join(' and ')}`, async () => {
        for (const caller of admitted) {
          // The empty request may be refused for what it says, never for who sent it.
          const error = await call(service, method, await asService(caller, service)).then(() => undefined, (e: unknown) => ConnectError.from(e));
          const refused = error && (error.code === Code.Unauthenticated || (error.code === Code.PermissionDenied && reasonOf(error) === 'INTERNAL_ONLY'));
          expect(refused, `${caller}: ${error?.rawMessage}`).to.not.equal(true);
        }
      });

      if (callers.length > 0) {
        it(`refuses every other service (PERMISSION_DENIED, INTERNAL_ONLY)`, async () => {
          for (const caller of FOUNDATION_SERVICES.filter((s) => !callers.includes(s))) {
            await expectRpcError(call(service, method, await asService(caller, service)), Code.PermissionDenied, 'INTERNAL_ONLY');
          }
        });
      }
    });
  }

  it('admit only the callers an RPC names: LookupUser is for the org service', async () => {
    const asExecution = await new ServiceTokenIssuer(platform.serviceKey, 'execution').tokenFor(AuthService.typeName);
    await expectRpcError(call(AuthService, AuthService.method.lookupUser, { [SERVICE_TOKEN_HEADER]: asExecution }), Code.PermissionDenied, 'INTERNAL_ONLY');
    const asOrgToWorkflow = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(RunProgressService.typeName);
    await expectRpcError(call(RunProgressService, RunProgressService.method.claimRun, { [SERVICE_TOKEN_HEADER]: asOrgToWorkflow }), Code.PermissionDenied, 'INTERNAL_ONLY');
    const asOrg = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(AuthService.typeName);
    const auth = createClient(AuthService, createGrpcTransport({ baseUrl: platform.baseUrl }));
    const found = await auth.lookupUser({ email: account.email }, { headers: { [SERVICE_TOKEN_HEADER]: asOrg } });
    expect(found.user?.id).to.equal(account.userId);
  });
});
