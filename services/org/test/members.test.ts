import { Code } from '@connectrpc/connect';
import { Role } from '@foundation/contracts';
import { expectRpcError, inOrg, invalidFieldOf, orgWithRoles, signUp, startTestPlatform, type TestAccount, type TestPlatform, uniqueSlug } from '@foundation/testing';
import { expect } from 'chai';

describe('OrgService', () => {
  let platform: TestPlatform;
  before(async () => {
    // Membership answers are not cached, so a role change or removal shows in the very next call.
    platform = await startTestPlatform({ env: { FOUNDATION_MEMBERSHIP_CACHE_TTL: '0ms' } });
  });
  after(() => platform.close());

  /** The org's members as [userId, role] in join order, as its owner sees them. */
  async function rolesIn(orgId: string, asOwner: TestAccount): Promise<[string, Role][]> {
    const { members } = await platform.grpc.org.listMembers({}, inOrg(asOwner, orgId));
    return members.map((m) => [m.userId, m.role]);
  }

  describe('AddMember()', () => {
    it('lets an owner add an admin and a member, who are listed in join order', async () => {
      const owner = await signUp(platform.grpc, 'Owner');
      const [admin, member] = await Promise.all([signUp(platform.grpc, 'Grace'), signUp(platform.grpc, 'Linus')]);
      const { org } = await platform.grpc.org.createOrg({ name: 'Acme', slug: uniqueSlug() }, owner.as);

      const added = await platform.grpc.org.addMember({ email: admin.email, role: Role.ADMIN }, inOrg(owner, org!.id));
      expect([added.member?.userId, added.member?.email, added.member?.displayName, added.member?.role]).to.deep.equal([
        admin.userId,
        admin.email,
        'Grace',
        Role.ADMIN,
      ]);
      expect(added.member?.joinTime).to.not.equal(undefined);
      // The email is matched the way the account was signed up, whatever its case.
      await platform.grpc.org.addMember({ email: member.email.toUpperCase(), role: Role.MEMBER }, inOrg(owner, org!.id));

      expect(await rolesIn(org!.id, owner)).to.deep.equal([
        [owner.userId, Role.OWNER],
        [admin.userId, Role.ADMIN],
        [member.userId, Role.MEMBER],
      ]);
      const { memberships } = await platform.grpc.org.listMyOrgs({}, member.as);
      expect(memberships.map((m) => [m.org?.id, m.role])).to.deep.equal([[org!.id, Role.MEMBER]]);
    });

    it('lets an admin add members and admins', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      const [newMember, newAdmin] = await Promise.all([signUp(platform.grpc), signUp(platform.grpc)]);
      await platform.grpc.org.addMember({ email: newMember.email, role: Role.MEMBER }, inOrg(admin, org.id));
      await platform.grpc.org.addMember({ email: newAdmin.email, role: Role.ADMIN }, inOrg(admin, org.id));
      expect((await rolesIn(org.id, owner)).slice(3)).to.deep.equal([
        [newMember.userId, Role.MEMBER],
        [newAdmin.userId, Role.ADMIN],
      ]);
    });

    it('refuses an admin adding an owner', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      const candidate = await signUp(platform.grpc);
      await expectRpcError(
        platform.grpc.org.addMember({ email: candidate.email, role: Role.OWNER }, inOrg(admin, org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
      expect((await rolesIn(org.id, owner)).map(([id]) => id)).to.not.include(candidate.userId);
    });

    it('refuses a member adding anyone', async () => {
      const { org, owner, member } = await orgWithRoles(platform.grpc);
      const candidate = await signUp(platform.grpc);
      for (const role of [Role.MEMBER, Role.ADMIN, Role.OWNER]) {
        await expectRpcError(
          platform.grpc.org.addMember({ email: candidate.email, role }, inOrg(member, org.id)),
          Code.PermissionDenied,
          'ROLE_INSUFFICIENT',
        );
      }
      expect((await rolesIn(org.id, owner)).map(([id]) => id)).to.not.include(candidate.userId);
    });

    it('tells a member who may not add anyone nothing about which emails have accounts', async () => {
      const { org, member } = await orgWithRoles(platform.grpc);
      await expectRpcError(
        platform.grpc.org.addMember({ email: 'nobody-at-all@example.com', role: Role.MEMBER }, inOrg(member, org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
    });

    it('answers NOT_FOUND for an email no account has', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      await expectRpcError(
        platform.grpc.org.addMember({ email: `nobody-${uniqueSlug()}@example.com`, role: Role.MEMBER }, inOrg(owner, org.id)),
        Code.NotFound,
        'NOT_FOUND',
      );
      expect(await rolesIn(org.id, owner)).to.have.length(3);
    });

    it('refuses to add someone who is already a member, keeping their role', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      await expectRpcError(
        platform.grpc.org.addMember({ email: admin.email, role: Role.MEMBER }, inOrg(owner, org.id)),
        Code.AlreadyExists,
        'ALREADY_MEMBER',
      );
      await expectRpcError(
        platform.grpc.org.addMember({ email: owner.email, role: Role.MEMBER }, inOrg(owner, org.id)),
        Code.AlreadyExists,
        'ALREADY_MEMBER',
      );
      expect((await rolesIn(org.id, owner)).slice(0, 2)).to.deep.equal([
        [owner.userId, Role.OWNER],
        [admin.userId, Role.ADMIN],
      ]);
    });

    it('refuses ROLE_UNSPECIFIED, an unknown role and an empty email, naming the field', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      const candidate = await signUp(platform.grpc);
      for (const role of [Role.UNSPECIFIED, 42 as Role]) {
        const error = await expectRpcError(
          platform.grpc.org.addMember({ email: candidate.email, role }, inOrg(owner, org.id)),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(invalidFieldOf(error)).to.equal('role');
      }
      const error = await expectRpcError(
        platform.grpc.org.addMember({ email: '', role: Role.MEMBER }, inOrg(owner, org.id)),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(invalidFieldOf(error)).to.equal('email');
      expect(await rolesIn(org.id, owner)).to.have.length(3);
    });
  });

  describe('ListMembers()', () => {
    it('pages through the members in join order with page_size 1', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      const seen: string[] = [];
      let pageToken = '';
      for (let pages = 1; ; pages++) {
        expect(pages, 'pages walked').to.be.at.most(3);
        const res = await platform.grpc.org.listMembers({ page: { pageSize: 1, pageToken } }, inOrg(member, org.id));
        expect(res.members).to.have.length(1);
        seen.push(res.members[0]!.userId);
        pageToken = res.page?.nextPageToken ?? '';
        if (pageToken === '') break;
      }
      expect(seen).to.deep.equal([owner.userId, admin.userId, member.userId]);
    });

    it('refuses a page_token it did not issue', async () => {
      const { org, member } = await orgWithRoles(platform.grpc);
      const forgedKey = Buffer.from(JSON.stringify({ key: 'yesterday', id: member.userId })).toString('base64url');
      const forgedId = Buffer.from(JSON.stringify({ key: new Date().toISOString(), id: 'me' })).toString('base64url');
      for (const pageToken of ['garbage!', forgedKey, forgedId]) {
        const error = await expectRpcError(
          platform.grpc.org.listMembers({ page: { pageSize: 1, pageToken } }, inOrg(member, org.id)),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(invalidFieldOf(error), pageToken).to.equal('page.page_token');
      }
    });
  });

  describe('UpdateMemberRole()', () => {
    it('lets an owner promote and demote members', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      const promoted = await platform.grpc.org.updateMemberRole({ userId: member.userId, role: Role.ADMIN }, inOrg(owner, org.id));
      expect([promoted.member?.userId, promoted.member?.email, promoted.member?.role]).to.deep.equal([member.userId, member.email, Role.ADMIN]);
      await platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.MEMBER }, inOrg(owner, org.id));
      await platform.grpc.org.updateMemberRole({ userId: member.userId, role: Role.OWNER }, inOrg(owner, org.id));
      expect(await rolesIn(org.id, owner)).to.deep.equal([
        [owner.userId, Role.OWNER],
        [admin.userId, Role.MEMBER],
        [member.userId, Role.OWNER],
      ]);
    });

    it('lets an admin move others between member and admin', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.updateMemberRole({ userId: member.userId, role: Role.ADMIN }, inOrg(admin, org.id));
      expect((await rolesIn(org.id, owner))[2]).to.deep.equal([member.userId, Role.ADMIN]);
      await platform.grpc.org.updateMemberRole({ userId: member.userId, role: Role.MEMBER }, inOrg(admin, org.id));
      expect((await rolesIn(org.id, owner))[2]).to.deep.equal([member.userId, Role.MEMBER]);
    });

    it('refuses an admin promoting anyone to owner, themselves included', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      for (const target of [member, admin]) {
        await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId: target.userId, role: Role.OWNER }, inOrg(admin, org.id)),
          Code.PermissionDenied,
          'ROLE_INSUFFICIENT',
        );
      }
      expect(await rolesIn(org.id, owner)).to.deep.equal([
        [owner.userId, Role.OWNER],
        [admin.userId, Role.ADMIN],
        [member.userId, Role.MEMBER],
      ]);
    });

    it('refuses an admin demoting an owner', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      for (const role of [Role.ADMIN, Role.MEMBER]) {
        await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId: owner.userId, role }, inOrg(admin, org.id)),
          Code.PermissionDenied,
          'ROLE_INSUFFICIENT',
        );
      }
      expect((await rolesIn(org.id, owner))[0]).to.deep.equal([owner.userId, Role.OWNER]);
    });

    it('refuses a member changing any role, their own included', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      for (const [target, role] of [
        [member, Role.ADMIN],
        [admin, Role.MEMBER],
      ] as const) {
        await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId: target.userId, role }, inOrg(member, org.id)),
          Code.PermissionDenied,
          'ROLE_INSUFFICIENT',
        );
      }
      expect((await rolesIn(org.id, owner)).slice(1)).to.deep.equal([
        [admin.userId, Role.ADMIN],
        [member.userId, Role.MEMBER],
      ]);
    });

    it('refuses to demote the last owner', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      for (const role of [Role.ADMIN, Role.MEMBER]) {
        await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId: owner.userId, role }, inOrg(owner, org.id)),
          Code.FailedPrecondition,
          'LAST_OWNER',
        );
      }
      expect((await rolesIn(org.id, owner))[0]).to.deep.equal([owner.userId, Role.OWNER]);
    });

    it('lets one of two owners be demoted, and then not the other', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.OWNER }, inOrg(owner, org.id));
      const demoted = await platform.grpc.org.updateMemberRole({ userId: owner.userId, role: Role.ADMIN }, inOrg(admin, org.id));
      expect(demoted.member?.role).to.equal(Role.ADMIN);
      await expectRpcError(
        platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.MEMBER }, inOrg(admin, org.id)),
        Code.FailedPrecondition,
        'LAST_OWNER',
      );
      expect((await rolesIn(org.id, admin)).slice(0, 2)).to.deep.equal([
        [owner.userId, Role.ADMIN],
        [admin.userId, Role.OWNER],
      ]);
    });

    it('keeps an owner when two owners demote each other at once', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.OWNER }, inOrg(owner, org.id));
      const results = await Promise.allSettled([
        platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.MEMBER }, inOrg(owner, org.id)),
        platform.grpc.org.updateMemberRole({ userId: owner.userId, role: Role.MEMBER }, inOrg(admin, org.id)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      await expectRpcError(Promise.reject(results.find((r) => r.status === 'rejected')!.reason), Code.FailedPrecondition, 'LAST_OWNER');
      const owners = (await rolesIn(org.id, results[0].status === 'fulfilled' ? owner : admin)).filter(([, role]) => role === Role.OWNER);
      expect(owners).to.have.length(1);
    });

    it('answers NOT_FOUND for a user who is not a member of this org', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      const elsewhere = await orgWithRoles(platform.grpc);
      for (const userId of ['0190a1b2-0000-7000-8000-000000000000', elsewhere.member.userId]) {
        await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId, role: Role.ADMIN }, inOrg(owner, org.id)),
          Code.NotFound,
          'NOT_FOUND',
        );
      }
      expect((await rolesIn(elsewhere.org.id, elsewhere.owner))[2]).to.deep.equal([elsewhere.member.userId, Role.MEMBER]);
    });

    it('refuses a user_id that is not a UUID and ROLE_UNSPECIFIED, naming the field', async () => {
      const { org, owner, member } = await orgWithRoles(platform.grpc);
      for (const [userId, role, field] of [
        ['not-a-uuid', Role.ADMIN, 'user_id'],
        ['', Role.ADMIN, 'user_id'],
        [member.userId, Role.UNSPECIFIED, 'role'],
      ] as const) {
        const error = await expectRpcError(
          platform.grpc.org.updateMemberRole({ userId, role }, inOrg(owner, org.id)),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(invalidFieldOf(error)).to.equal(field);
      }
    });

    it('takes effect on what the member may do at once', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      const candidate = await signUp(platform.grpc);
      await platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.MEMBER }, inOrg(owner, org.id));
      await expectRpcError(
        platform.grpc.org.addMember({ email: candidate.email, role: Role.MEMBER }, inOrg(admin, org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
    });
  });

  describe('RemoveMember()', () => {
    it('lets an admin remove a member', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      expect(await platform.grpc.org.removeMember({ userId: member.userId }, inOrg(admin, org.id))).to.not.equal(undefined);
      expect(await rolesIn(org.id, owner)).to.deep.equal([
        [owner.userId, Role.OWNER],
        [admin.userId, Role.ADMIN],
      ]);
      expect((await platform.grpc.org.listMyOrgs({}, member.as)).memberships).to.deep.equal([]);
    });

    it('refuses a member removing another member', async () => {
      const { org, owner, member } = await orgWithRoles(platform.grpc);
      const other = await signUp(platform.grpc);
      await platform.grpc.org.addMember({ email: other.email, role: Role.MEMBER }, inOrg(owner, org.id));
      await expectRpcError(
        platform.grpc.org.removeMember({ userId: other.userId }, inOrg(member, org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
      expect((await rolesIn(org.id, owner)).map(([id]) => id)).to.include(other.userId);
    });

    it('refuses an admin removing an owner', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      await expectRpcError(
        platform.grpc.org.removeMember({ userId: owner.userId }, inOrg(admin, org.id)),
        Code.PermissionDenied,
        'ROLE_INSUFFICIENT',
      );
      expect((await rolesIn(org.id, owner))[0]).to.deep.equal([owner.userId, Role.OWNER]);
    });

    it('lets any member remove themselves (leave)', async () => {
      const { org, owner, admin, member } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.removeMember({ userId: admin.userId }, inOrg(admin, org.id));
      // A UUID in upper case is the same id: the member is still removing themselves.
      await platform.grpc.org.removeMember({ userId: member.userId.toUpperCase() }, inOrg(member, org.id));
      expect(await rolesIn(org.id, owner)).to.deep.equal([[owner.userId, Role.OWNER]]);
    });

    it('refuses to remove the last owner, even at their own request', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      await expectRpcError(
        platform.grpc.org.removeMember({ userId: owner.userId }, inOrg(owner, org.id)),
        Code.FailedPrecondition,
        'LAST_OWNER',
      );
      expect(await rolesIn(org.id, owner)).to.have.length(3);
    });

    it('lets an owner leave when another owner remains', async () => {
      const { org, owner, admin } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.updateMemberRole({ userId: admin.userId, role: Role.OWNER }, inOrg(owner, org.id));
      await platform.grpc.org.removeMember({ userId: owner.userId }, inOrg(owner, org.id));
      expect((await rolesIn(org.id, admin))[0]).to.deep.equal([admin.userId, Role.OWNER]);
      await expectRpcError(
        platform.grpc.org.removeMember({ userId: admin.userId }, inOrg(admin, org.id)),
        Code.FailedPrecondition,
        'LAST_OWNER',
      );
    });

    it('answers NOT_FOUND for a user who is not a member and INVALID_ARGUMENT for a bad user_id', async () => {
      const { org, owner } = await orgWithRoles(platform.grpc);
      const elsewhere = await orgWithRoles(platform.grpc);
      await expectRpcError(platform.grpc.org.removeMember({ userId: elsewhere.member.userId }, inOrg(owner, org.id)), Code.NotFound, 'NOT_FOUND');
      expect(await rolesIn(elsewhere.org.id, elsewhere.owner)).to.have.length(3);
      const error = await expectRpcError(platform.grpc.org.removeMember({ userId: 'nope' }, inOrg(owner, org.id)), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('user_id');
    });

    it("refuses the removed user's calls with that X-Org-Id from then on", async () => {
      const { org, owner, member } = await orgWithRoles(platform.grpc);
      await platform.grpc.org.getOrg({}, inOrg(member, org.id));
      await platform.grpc.org.removeMember({ userId: member.userId }, inOrg(owner, org.id));
      await expectRpcError(platform.grpc.org.getOrg({}, inOrg(member, org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
      await expectRpcError(platform.grpc.org.listMembers({}, inOrg(member, org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
      await expectRpcError(platform.grpc.auth.getMe({}, inOrg(member, org.id)), Code.PermissionDenied, 'NOT_A_MEMBER');
      // Without the header the account itself still works.
      expect((await platform.grpc.auth.getMe({}, member.as)).user?.id).to.equal(member.userId);
    });
  });
});
