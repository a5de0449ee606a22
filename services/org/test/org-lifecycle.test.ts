import { Code } from '@connectrpc/connect';
import { Role } from '@foundation/contracts';
import { expectRpcError, inOrg, invalidFieldOf, signUp, startTestPlatform, type TestPlatform, uniqueSlug, withDatabase } from '@foundation/testing';
import { expect } from 'chai';

describe('OrgService', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform();
  });
  after(() => platform.close());

  describe('CreateOrg()', () => {
    it('makes the caller its owner', async () => {
      const founder = await signUp(platform.grpc, 'Ada Lovelace');
      const slug = uniqueSlug('analytical');
      const { org } = await platform.grpc.org.createOrg({ name: '  Analytical Engines  ', slug }, founder.as);
      expect(org?.name).to.equal('Analytical Engines');
      expect(org?.slug).to.equal(slug);
      expect(org?.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(org?.createTime).to.not.equal(undefined);

      const { members } = await platform.grpc.org.listMembers({}, inOrg(founder, org!.id));
      expect(members.map((m) => [m.userId, m.email, m.displayName, m.role])).to.deep.equal([
        [founder.userId, founder.email, 'Ada Lovelace', Role.OWNER],
      ]);
    });

    it('refuses a slug that is taken', async () => {
      const [first, second] = await Promise.all([signUp(platform.grpc), signUp(platform.grpc)]);
      const slug = uniqueSlug();
      await platform.grpc.org.createOrg({ name: 'First', slug }, first.as);
      const error = await expectRpcError(
        platform.grpc.org.createOrg({ name: 'Second', slug }, second.as),
        Code.AlreadyExists,
        'SLUG_TAKEN',
      );
      expect(error.rawMessage).to.contain(slug);
    });

    it('leaves no org or membership behind when it fails on a taken slug', async () => {
      const [first, second] = await Promise.all([signUp(platform.grpc), signUp(platform.grpc)]);
      const slug = uniqueSlug();
      await platform.grpc.org.createOrg({ name: 'Taken first', slug }, first.as);
      const failedName = `Never created ${slug}`;
      await expectRpcError(platform.grpc.org.createOrg({ name: failedName, slug }, second.as), Code.AlreadyExists, 'SLUG_TAKEN');

      const counts = await withDatabase(platform, 'superuser', async (db) => ({
        orgsNamed: (await db.query('select count(*)::int as n from org.orgs where name = $1', [failedName])).rows[0].n,
        orgsWithSlug: (await db.query('select count(*)::int as n from org.orgs where slug = $1', [slug])).rows[0].n,
        membershipsOfSecond: (await db.query('select count(*)::int as n from org.memberships where user_id = $1', [second.userId])).rows[0].n,
      }));
      expect(counts).to.deep.equal({ orgsNamed: 0, orgsWithSlug: 1, membershipsOfSecond: 0 });
      expect((await platform.grpc.org.listMyOrgs({}, second.as)).memberships).to.deep.equal([]);
    });

    it('lets exactly one of two concurrent creations with the same slug succeed', async () => {
      const [a, b] = await Promise.all([signUp(platform.grpc), signUp(platform.grpc)]);
      const slug = uniqueSlug('race');
      const results = await Promise.allSettled([
        platform.grpc.org.createOrg({ name: 'Racer A', slug }, a.as),
        platform.grpc.org.createOrg({ name: 'Racer B', slug }, b.as),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const rejected = results.find((r) => r.status === 'rejected');
      await expectRpcError(Promise.reject(rejected!.reason), Code.AlreadyExists, 'SLUG_TAKEN');
    });

    const invalidRequests: { title: string; name: string; slug: string; field: string }[] = [
      { title: 'an empty name', name: '', slug: uniqueSlug(), field: 'name' },
      { title: 'a blank name', name: '   ', slug: uniqueSlug(), field: 'name' },
      { title: 'a name over 100 characters', name: 'n'.repeat(101), slug: uniqueSlug(), field: 'name' },
      { title: 'an empty slug', name: 'Valid', slug: '', field: 'slug' },
      { title: 'an upper-case slug', name: 'Valid', slug: 'Acme-Corp', field: 'slug' },
      { title: 'a slug with a leading hyphen', name: 'Valid', slug: '-acme', field: 'slug' },
      { title: 'a slug with a trailing hyphen', name: 'Valid', slug: 'acme-', field: 'slug' },
      { title: 'a slug of 2 characters', name: 'Valid', slug: 'ab', field: 'slug' },
      { title: 'a slug of 41 characters', name: 'Valid', slug: 'a'.repeat(41), field: 'slug' },
      { title: 'a slug with other characters', name: 'Valid', slug: 'acme_corp', field: 'slug' },
    ];
    for (const { title, name, slug, field } of invalidRequests) {
      it(`refuses ${title}, naming the field`, async () => {
        const founder = await signUp(platform.grpc);
        const error = await expectRpcError(platform.grpc.org.createOrg({ name, slug }, founder.as), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal(field);
        expect((await platform.grpc.org.listMyOrgs({}, founder.as)).memberships).to.deep.equal([]);
      });
    }

    it('accepts the boundary lengths: a 100-character name and slugs of 3 and 40 characters', async () => {
      const founder = await signUp(platform.grpc);
      const long = uniqueSlug('l'.repeat(29)); // 29 + "-" + 10 hex digits
      expect(long).to.have.length(40);
      const { org } = await platform.grpc.org.createOrg({ name: 'n'.repeat(100), slug: long }, founder.as);
      expect([org?.name.length, org?.slug]).to.deep.equal([100, long]);
      // The database is this suite's own, so no other org has this 3-character slug.
      const { org: short } = await platform.grpc.org.createOrg({ name: 'Short slug', slug: 'a-1' }, founder.as);
      expect(short?.slug).to.equal('a-1');
    });
  });

  describe('ListMyOrgs()', () => {
    it("lists only the caller's orgs, oldest first, with the caller's role in each", async () => {
      const [me, someoneElse] = await Promise.all([signUp(platform.grpc), signUp(platform.grpc)]);
      const { org: mine } = await platform.grpc.org.createOrg({ name: 'Mine', slug: uniqueSlug() }, me.as);
      const { org: joined } = await platform.grpc.org.createOrg({ name: 'Joined', slug: uniqueSlug() }, someoneElse.as);
      await platform.grpc.org.addMember({ email: me.email, role: Role.ADMIN }, inOrg(someoneElse, joined!.id));
      const { org: notMine } = await platform.grpc.org.createOrg({ name: 'Not mine', slug: uniqueSlug() }, someoneElse.as);

      const { memberships, page } = await platform.grpc.org.listMyOrgs({}, me.as);
      expect(memberships.map((m) => [m.org?.id, m.org?.name, m.role])).to.deep.equal([
        [mine!.id, 'Mine', Role.OWNER],
        [joined!.id, 'Joined', Role.ADMIN],
      ]);
      expect(page?.nextPageToken).to.equal('');
      const theirs = (await platform.grpc.org.listMyOrgs({}, someoneElse.as)).memberships.map((m) => m.org?.id);
      expect(theirs).to.deep.equal([joined!.id, notMine!.id]);
    });

    it('walks every page with page_size 1 and ends with an empty next_page_token', async () => {
      const me = await signUp(platform.grpc);
      const created: string[] = [];
      for (const name of ['One', 'Two', 'Three']) {
        created.push((await platform.grpc.org.createOrg({ name, slug: uniqueSlug() }, me.as)).org!.id);
      }
      const seen: string[] = [];
      let pageToken = '';
      for (let pages = 1; ; pages++) {
        expect(pages, 'pages walked').to.be.at.most(3);
        const res = await platform.grpc.org.listMyOrgs({ page: { pageSize: 1, pageToken } }, me.as);
        expect(res.memberships).to.have.length(1);
        seen.push(res.memberships[0]!.org!.id);
        pageToken = res.page?.nextPageToken ?? '';
        if (pageToken === '') break;
      }
      expect(seen).to.deep.equal(created);
    });

    it('refuses a page_size over 200', async () => {
      const me = await signUp(platform.grpc);
      await platform.grpc.org.listMyOrgs({ page: { pageSize: 200 } }, me.as);
      const error = await expectRpcError(platform.grpc.org.listMyOrgs({ page: { pageSize: 201 } }, me.as), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('page.page_size');
    });

    it('refuses a page_token it did not issue', async () => {
      const me = await signUp(platform.grpc);
      const forged = Buffer.from(JSON.stringify({ key: 'x', id: 'not-an-org-id' })).toString('base64url');
      for (const pageToken of ['garbage!', 'bm90IGpzb24', forged]) {
        const error = await expectRpcError(
          platform.grpc.org.listMyOrgs({ page: { pageSize: 1, pageToken } }, me.as),
          Code.InvalidArgument,
          'INVALID_FIELD',
        );
        expect(invalidFieldOf(error), pageToken).to.equal('page.page_token');
      }
    });
  });

  describe('GetOrg()', () => {
    it('returns the org named by X-Org-Id', async () => {
      const founder = await signUp(platform.grpc);
      const slug = uniqueSlug();
      const { org: created } = await platform.grpc.org.createOrg({ name: 'Get me', slug }, founder.as);
      const { org } = await platform.grpc.org.getOrg({}, inOrg(founder, created!.id));
      expect(org).to.deep.equal(created);
      const overConnect = await platform.connect.org.getOrg({}, inOrg(founder, created!.id.toUpperCase()));
      expect(overConnect.org?.id).to.equal(created!.id);
    });
  });
});
