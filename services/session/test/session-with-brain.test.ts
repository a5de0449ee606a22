import { Code } from '@connectrpc/connect';
import { Session_State } from '@foundation/contracts';
import { expectRpcError, inOrg, signUp, startTestPlatform, uniqueSlug, type TestPlatform } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { CODEX } from './session-fixtures.js';

// The platform as `npm start` runs it: the session service hands turns to the real brain in the same process.
describe('Sessions through the brain', () => {
  let platform: TestPlatform;
  let as: ReturnType<typeof inOrg>;
  before(async () => {
    platform = await startTestPlatform();
    const account = await signUp(platform.grpc);
    const { org } = await platform.grpc.org.createOrg({ name: 'Brain Org', slug: uniqueSlug('brain') }, account.as);
    as = inOrg(account, org!.id);
  });
  after(() => platform?.close());

  it('opens a session whose first turn waits for a node (PENDING)', async () => {
    const { session } = await platform.grpc.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the build' }, as);
    expect(session!.state).to.equal(Session_State.PENDING);
    const { sessions } = await platform.grpc.sessions.listSessions({}, as);
    expect(sessions.map((s) => s.id)).to.include(session!.id);
  });

  it('relays the brain refusing an executor the organization does not have (NOT_FOUND), leaving no session', async () => {
    await expectRpcError(
      platform.grpc.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Fix the build', executorId: uuidv7() }, as),
      Code.NotFound,
      'NOT_FOUND',
    );
    const { sessions } = await platform.grpc.sessions.listSessions({}, as);
    expect(sessions).to.have.length(1);
  });

  it('cancels a waiting session: the brain ends its task, the session is CANCELLED', async () => {
    const { session } = await platform.grpc.sessions.createSession({ engine: CODEX, workspace: 'my-repo', prompt: 'Never mind' }, as);
    const { session: cancelled } = await platform.grpc.sessions.cancelSession({ sessionId: session!.id }, as);
    expect(cancelled!.state).to.equal(Session_State.CANCELLED);
    // The brain ends a pending task at once with TurnCompleted(CANCELLED), which it reports to the session;
    // a watcher gets it and the stream ends.
    const watched: (string | undefined)[] = [];
    for await (const res of platform.grpc.sessions.watchSession({ sessionId: session!.id }, as)) watched.push(res.event!.event!.kind.case);
    expect(watched).to.deep.equal(['turnCompleted']);
  });
});
