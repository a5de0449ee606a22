import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Access, AuthService, OrgService, RunProgressService, RunService, SecretsService, WorkflowService } from '@foundation/contracts';
import { methodAccess, SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import { expectRpcError, signUp, startTestPlatform, type TestAccount, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

/** Every ACCESS_INTERNAL RPC, found from the contracts so a new one is covered without editing this file. */
const INTERNAL_RPCS = [AuthService, OrgService, SecretsService, WorkflowService, RunService, RunProgressService].flatMap((service) =>
  service.methods.filter((m) => methodAccess(m) === Access.INTERNAL).map((method) => ({ service, method })),
);

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

  /** Calls `method` with an empty request over gRPC with the given headers. */
  const call = (service: (typeof INTERNAL_RPCS)[number]['service'], name: string, headers: Record<string, string>) => {
    const client = createClient(service, createGrpcTransport({ baseUrl: platform.baseUrl })) as unknown as Record<
      string,
      (req: object, options: object) => Promise<unknown>
    >;
    return client[name[0]!.toLowerCase() + name.slice(1)]!({}, { headers });
  };

  it('exist (the list below is not empty)', () => {
    expect(INTERNAL_RPCS.map((r) => r.method.name)).to.include.members(['LookupUser', 'CheckMembership', 'ResolveSecret', 'ClaimRun', 'ReportProgress']);
  });

  for (const { service, method } of INTERNAL_RPCS) {
    describe(`${service.typeName}/${method.name}`, () => {
      it('refuses a user access token', async () => {
        await expectRpcError(call(service, method.name, account.as.headers), Code.PermissionDenied, 'INTERNAL_ONLY');
      });

      it('refuses an API token', async () => {
        await expectRpcError(call(service, method.name, { authorization: `Bearer ${apiToken}` }), Code.PermissionDenied, 'INTERNAL_ONLY');
      });

      it('refuses a service token meant for another service', async () => {
        const other = service === AuthService ? OrgService : AuthService;
        const token = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(other.typeName);
        await expectRpcError(call(service, method.name, { [SERVICE_TOKEN_HEADER]: token }), Code.Unauthenticated, 'CREDENTIAL_INVALID');
      });
    });
  }

  it('admit only the callers an RPC names: LookupUser is for the org service', async () => {
    const asExecution = await new ServiceTokenIssuer(platform.serviceKey, 'execution').tokenFor(AuthService.typeName);
    await expectRpcError(call(AuthService, 'LookupUser', { [SERVICE_TOKEN_HEADER]: asExecution }), Code.PermissionDenied, 'INTERNAL_ONLY');
    const asOrgToWorkflow = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(RunProgressService.typeName);
    await expectRpcError(call(RunProgressService, 'ClaimRun', { [SERVICE_TOKEN_HEADER]: asOrgToWorkflow }), Code.PermissionDenied, 'INTERNAL_ONLY');
    const asOrg = await new ServiceTokenIssuer(platform.serviceKey, 'org').tokenFor(AuthService.typeName);
    const auth = createClient(AuthService, createGrpcTransport({ baseUrl: platform.baseUrl }));
    const found = await auth.lookupUser({ email: account.email }, { headers: { [SERVICE_TOKEN_HEADER]: asOrg } });
    expect(found.user?.id).to.equal(account.userId);
  });
});
