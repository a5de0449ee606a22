import { toJsonString } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ListApiTokensResponseSchema } from '@foundation/contracts';
import { Code } from '@connectrpc/connect';
import { expectRpcError, signUp, startTestPlatform, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';

describe('AuthService API tokens', () => {
  let platform: TestPlatform;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_API_TOKEN_CACHE_TTL: '1ms' } });
  });
  after(() => platform.close());

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  describe('CreateApiToken()', () => {
    it('returns the secret once and authenticates programs with it', async () => {
      const account = await signUp(platform.grpc);
      const created = await platform.grpc.auth.createApiToken({ name: 'ci' }, account.as);
      expect(created.token).to.match(/^fdn_[A-Za-z0-9_-]{43}$/);
      expect(created.apiToken?.prefix).to.equal(created.token.slice(0, 10));
      const me = await platform.grpc.auth.getMe({}, bearer(created.token));
      expect(me.user?.id).to.equal(account.userId);
      const listed = await platform.grpc.auth.listApiTokens({}, account.as);
      expect(toJsonString(ListApiTokensResponseSchema, listed)).not.to.contain(created.token.slice(10));
    });

    it('refuses an empty name and an expiry in the past', async () => {
      const account = await signUp(platform.grpc);
      const error = await expectRpcError(
        platform.grpc.auth.createApiToken({ name: ' ', expiresAt: timestampFromDate(new Date(Date.now() - 1000)) }, account.as),
        Code.InvalidArgument,
        'INVALID_FIELD',
      );
      expect(error.rawMessage).to.contain('name').and.contain('expires_at');
    });

    it('stops authenticating once expired', async () => {
      const account = await signUp(platform.grpc);
      const created = await platform.grpc.auth.createApiToken({ name: 'short', expiresAt: timestampFromDate(new Date(Date.now() + 1500)) }, account.as);
      await platform.grpc.auth.getMe({}, bearer(created.token));
      await new Promise((resolve) => setTimeout(resolve, 1600));
      await expectRpcError(platform.grpc.auth.getMe({}, bearer(created.token)), Code.Unauthenticated, 'CREDENTIAL_INVALID');
    });
  });

  describe('ListApiTokens()', () => {
    it('pages through the caller’s tokens newest first', async () => {
      const account = await signUp(platform.grpc);
      for (const name of ['one', 'two', 'three']) await platform.grpc.auth.createApiToken({ name }, account.as);
      const names: string[] = [];
      let pageToken = '';
      do {
        const res = await platform.grpc.auth.listApiTokens({ page: { pageSize: 2, pageToken } }, account.as);
        names.push(...res.apiTokens.map((t) => t.name));
        pageToken = res.page?.nextPageToken ?? '';
      } while (pageToken);
      expect(names).to.deep.equal(['three', 'two', 'one']);
    });

    it('shows nobody else’s tokens', async () => {
      const alice = await signUp(platform.grpc);
      const bob = await signUp(platform.grpc);
      await platform.grpc.auth.createApiToken({ name: 'alice-only' }, alice.as);
      const res = await platform.grpc.auth.listApiTokens({}, bob.as);
      expect(res.apiTokens).to.have.length(0);
    });

    it('refuses a page token it did not issue', async () => {
      const account = await signUp(platform.grpc);
      await expectRpcError(platform.grpc.auth.listApiTokens({ page: { pageToken: 'garbage' } }, account.as), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });

  describe('RevokeApiToken()', () => {
    it('makes the token stop working', async () => {
      const account = await signUp(platform.grpc);
      const created = await platform.grpc.auth.createApiToken({ name: 'to revoke' }, account.as);
      await platform.grpc.auth.getMe({}, bearer(created.token));
      await platform.grpc.auth.revokeApiToken({ id: created.apiToken!.id }, account.as);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await expectRpcError(platform.grpc.auth.getMe({}, bearer(created.token)), Code.Unauthenticated, 'CREDENTIAL_INVALID');
      const listed = await platform.grpc.auth.listApiTokens({}, account.as);
      expect(listed.apiTokens[0]?.revokeTime).to.not.equal(undefined);
    });

    it('answers NOT_FOUND for another user’s token and INVALID_ARGUMENT for a malformed id', async () => {
      const alice = await signUp(platform.grpc);
      const bob = await signUp(platform.grpc);
      const created = await platform.grpc.auth.createApiToken({ name: 'alice' }, alice.as);
      await expectRpcError(platform.grpc.auth.revokeApiToken({ id: created.apiToken!.id }, bob.as), Code.NotFound, 'NOT_FOUND');
      await platform.grpc.auth.getMe({}, bearer(created.token));
      await expectRpcError(platform.grpc.auth.revokeApiToken({ id: 'nope' }, bob.as), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });
});
