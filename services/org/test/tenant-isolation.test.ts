import { Code, type CallOptions, type Client } from '@connectrpc/connect';
import { Access, OrgService, Role } from '@foundation/contracts';
import { methodAccess } from '@foundation/kit';
import { expectRpcError, inOrg, orgWithRoles, type OrgWithRoles, signUp, startTestPlatform, type TestAccount, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

/** Every RPC of OrgService that acts on the org of X-Org-Id, read from the contract. */
const TENANT_RPCS = OrgService.methods.filter((method) => methodAccess(method) === Access.TENANT);

/**
 * For each tenant RPC, a call that an outsider would make against the victim org: the most damaging
 * request it accepts (add themselves as owner, demote the owner, remove a member). A tenant RPC added
 * to the contract without a case here fails this suite.
 */
type TenantCall = (org: Client<typeof OrgService>, options: CallOptions, victim: OrgWithRoles, attacker: TestAccount) => Promise<unknown>;
const TENANT_CALLS: Record<string, TenantCall> = {
  getOrg: (org, options) => org.getOrg({}, options),
  listMembers: (org, options) => org.listMembers({}, options),
  addMember: (org, options, _victim, attacker) => org.addMember({ email: attacker.email, role: Role.OWNER }, options),
  updateMemberRole: (org, options, victim) => org.updateMemberRole({ userId: victim.owner.userId, role: Role.MEMBER }, options),
  removeMember: (org, options, victim) => org.removeMember({ userId: victim.member.userId }, options),
};

describe('OrgService', () => {
  let platform: TestPlatform;
  /** The attacker is the owner of A, the strongest role in an org that is not B. */
  let a: OrgWithRoles;
  let b: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    [a, b] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
  });
  after(() => platform.close());

  /** All of B that a tenant RPC could read or change, as B's owner sees it. */
  async function snapshotOfB() {
    const { org } = await platform.grpc.org.getOrg({}, inOrg(b.owner, b.org.id));
    const { members } = await platform.grpc.org.listMembers({}, inOrg(b.owner, b.org.id));
    return { org, members };
  }

  describe('tenant isolation', () => {
    it('has a case for every tenant RPC of the contract', () => {
      expect(TENANT_RPCS.map((m) => m.localName).sort()).to.deep.equal(Object.keys(TENANT_CALLS).sort());
    });

    for (const method of TENANT_RPCS) {
      describe(`${method.name}()`, () => {
        const call: TenantCall = (org, options, victim, attacker) => {
          const tenantCall = TENANT_CALLS[method.localName];
          if (!tenantCall) throw new Error(`no tenant-isolation case for ${method.name}: add one to TENANT_CALLS`);
          return tenantCall(org, options, victim, attacker);
        };

        it("refuses a member of org A who sends org B's id, over gRPC and Connect, and leaves B unchanged", async () => {
          const before = await snapshotOfB();
          for (const client of [platform.grpc.org, platform.connect.org]) {
            await expectRpcError(call(client, inOrg(a.owner, b.org.id), b, a.owner), Code.PermissionDenied, 'NOT_A_MEMBER');
            await expectRpcError(call(client, inOrg(a.owner, b.org.id.toUpperCase()), b, a.owner), Code.PermissionDenied, 'NOT_A_MEMBER');
          }
          expect(await snapshotOfB()).to.deep.equal(before);
        });

        it('answers an org id that does not exist the same as a foreign one', async () => {
          await expectRpcError(
            call(platform.grpc.org, inOrg(a.owner, '0190a1b2-0000-7000-8000-000000000000'), b, a.owner),
            Code.PermissionDenied,
            'NOT_A_MEMBER',
          );
        });

        it('refuses a call without X-Org-Id', async () => {
          const before = await snapshotOfB();
          await expectRpcError(call(platform.grpc.org, b.owner.as, b, a.owner), Code.PermissionDenied, 'ORG_REQUIRED');
          expect(await snapshotOfB()).to.deep.equal(before);
        });

        it('refuses an X-Org-Id that is not an org id', async () => {
          for (const orgId of ['not-a-uuid', b.org.slug, `${b.org.id}0`, `${b.org.id}, ${a.org.id}`]) {
            await expectRpcError(call(platform.grpc.org, inOrg(b.owner, orgId), b, a.owner), Code.InvalidArgument, 'INVALID_FIELD');
          }
        });

        it('refuses a call without a credential', async () => {
          const before = await snapshotOfB();
          await expectRpcError(call(platform.grpc.org, { headers: { 'x-org-id': b.org.id } }, b, a.owner), Code.Unauthenticated, 'CREDENTIAL_MISSING');
          expect(await snapshotOfB()).to.deep.equal(before);
        });
      });
    }
  });

  describe('X-Org-Id on an authenticated RPC (AuthService.GetMe())', () => {
    it('reports the caller’s role in their own org', async () => {
      expect((await platform.grpc.auth.getMe({}, inOrg(a.admin, a.org.id))).orgRole).to.equal(Role.ADMIN);
      expect((await platform.grpc.auth.getMe({}, a.admin.as)).orgRole).to.equal(Role.UNSPECIFIED);
    });

    it('refuses an org the caller is not a member of', async () => {
      await expectRpcError(platform.grpc.auth.getMe({}, inOrg(a.owner, b.org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
      await expectRpcError(platform.connect.auth.getMe({}, inOrg(a.owner, b.org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
    });

    it('refuses a malformed org id', async () => {
      await expectRpcError(platform.grpc.auth.getMe({}, inOrg(a.owner, 'acme')), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });

  describe('API tokens on tenant RPCs', () => {
    it('authenticate the member who created them, in their orgs only', async () => {
      const { token } = await platform.grpc.auth.createApiToken({ name: 'ci' }, a.member.as);
      expect(token).to.match(/^fdn_/);
      const asToken = (orgId: string) => ({ headers: { authorization: `Bearer ${token}`, 'x-org-id': orgId } });
      const { members } = await platform.grpc.org.listMembers({}, asToken(a.org.id));
      expect(members.map((m) => m.userId)).to.deep.equal([a.owner.userId, a.admin.userId, a.member.userId]);
      const overConnect = await platform.connect.org.getOrg({}, asToken(a.org.id));
      expect(overConnect.org?.id).to.equal(a.org.id);
      await expectRpcError(platform.grpc.org.listMembers({}, asToken(b.org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
      // The token carries its owner's role: a member's token cannot manage members.
      const outsider = await signUp(platform.grpc);
      await expectRpcError(
        platform.grpc.org.addMember({ email: outsider.email, role: Role.MEMBER }, asToken(a.org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
    });
  });
});
