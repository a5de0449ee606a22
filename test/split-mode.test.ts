import { randomUUID } from 'node:crypto';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus, Role } from '@foundation/contracts';
import { findFreePort } from '@foundation/db';
import { clientsOver, expectRpcError, inOrg, signUp, type PlatformClients } from '@foundation/testing';
import { expect } from 'chai';
import { startExternalInfrastructure, type ExternalInfrastructure } from './support/external-infrastructure.js';
import { FoundationProcess } from './support/foundation-process.js';

describe('Split mode: auth and org in separate processes, talking gRPC', () => {
  let infrastructure: ExternalInfrastructure;
  let authProcess: FoundationProcess;
  let orgProcess: FoundationProcess;
  let authUrl: string;
  let orgUrl: string;
  /** Clients of each process, over gRPC (HTTP/2), as a caller behind Envoy would reach them. */
  let atAuth: PlatformClients;
  let atOrg: PlatformClients;

  before(async function () {
    this.timeout(120_000);
    infrastructure = await startExternalInfrastructure();
    const authPort = await findFreePort();
    let orgPort = await findFreePort();
    while (orgPort === authPort) orgPort = await findFreePort();
    authUrl = `http://127.0.0.1:${authPort}`;
    orgUrl = `http://127.0.0.1:${orgPort}`;
    authProcess = new FoundationProcess(['start', '--target=auth'], {
      ...infrastructure.env,
      FOUNDATION_PORT: String(authPort),
      FOUNDATION_MIGRATE_ON_START: 'false',
      FOUNDATION_ORG_URL: orgUrl,
    });
    orgProcess = new FoundationProcess(['start', '--target=org'], {
      ...infrastructure.env,
      FOUNDATION_PORT: String(orgPort),
      FOUNDATION_MIGRATE_ON_START: 'false',
      FOUNDATION_AUTH_URL: authUrl,
    });
    await Promise.all([authProcess.waitUntilReady(authUrl), orgProcess.waitUntilReady(orgUrl)]);
    atAuth = clientsOver(createGrpcTransport({ baseUrl: authUrl }));
    atOrg = clientsOver(createGrpcTransport({ baseUrl: orgUrl }));
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const [name, process] of [['auth', authProcess], ['org', orgProcess]] as const) {
      console.error(`\n=== foundation start --target=${name} ===\n${process?.describe() ?? '(not started)'}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    const exits = await Promise.all([authProcess?.stop(), orgProcess?.stop()]);
    await infrastructure?.close();
    for (const exit of exits) if (exit) expect(exit).to.deep.equal({ code: 0, signal: null });
  });

  it('runs each service in its own process only', async () => {
    const healthAtAuth = createClient(Health, createGrpcTransport({ baseUrl: authUrl }));
    const healthAtOrg = createClient(Health, createGrpcTransport({ baseUrl: orgUrl }));
    expect((await healthAtAuth.check({ service: 'foundation.auth.v1.AuthService' })).status).to.equal(ServingStatus.SERVING);
    expect((await healthAtOrg.check({ service: 'foundation.org.v1.OrgService' })).status).to.equal(ServingStatus.SERVING);
    await expectRpcError(healthAtAuth.check({ service: 'foundation.org.v1.OrgService' }), Code.NotFound);
    await expectRpcError(healthAtOrg.check({ service: 'foundation.auth.v1.AuthService' }), Code.NotFound);
    await expectRpcError(atAuth.org.listMyOrgs({}), Code.Unimplemented);
    await expectRpcError(atOrg.auth.getJwks({}), Code.Unimplemented);
  });

  it('signs up, creates an org, adds a member and reads the tenant role across the two processes', async () => {
    const owner = await signUp(atAuth, 'Split Owner');
    // The org process verifies the token with the auth process's keys and asks it for the owner's profile.
    const { org } = await atOrg.org.createOrg({ name: 'Split Org', slug: `split-${randomUUID().slice(0, 8)}` }, owner.as);
    expect(org?.id).to.be.a('string');

    const member = await signUp(atAuth, 'Split Member');
    // The org process looks the member's email up in the auth process.
    const added = await atOrg.org.addMember({ email: member.email, role: Role.MEMBER }, inOrg(owner, org!.id));
    expect(added.member).to.include({ userId: member.userId, email: member.email, displayName: 'Split Member', role: Role.MEMBER });

    const { members } = await atOrg.org.listMembers({}, inOrg(member, org!.id));
    expect(members.map((m) => [m.userId, m.role])).to.have.deep.members([
      [owner.userId, Role.OWNER],
      [member.userId, Role.MEMBER],
    ]);

    // The auth process asks the org process whether the caller belongs to the org in X-Org-Id.
    const asMember = await atAuth.auth.getMe({}, inOrg(member, org!.id));
    expect(asMember.user?.id).to.equal(member.userId);
    expect(asMember.orgRole).to.equal(Role.MEMBER);
    const asOwner = await atAuth.auth.getMe({}, inOrg(owner, org!.id));
    expect(asOwner.orgRole).to.equal(Role.OWNER);

    const outsider = await signUp(atAuth, 'Split Outsider');
    await expectRpcError(atAuth.auth.getMe({}, inOrg(outsider, org!.id)), Code.PermissionDenied, 'NOT_A_MEMBER');

    // Each cross-process call shows up in the log of the process that served it.
    await eventually(() => {
      expect(orgProcess.out).to.contain('"rpc":"foundation.org.v1.OrgService/CheckMembership"');
      expect(authProcess.out).to.contain('"rpc":"foundation.auth.v1.AuthService/LookupUser"');
      expect(authProcess.out).to.contain('"rpc":"foundation.auth.v1.AuthService/GetJwks"');
    });
  });
});

/** Retries an assertion for up to `timeoutMs`, for output a child process writes asynchronously. */
async function eventually(assertion: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      assertion();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
