import { create } from '@bufbuild/protobuf';
import { AgentEventSchema } from '@foundation/contracts';
import { expect } from 'chai';
import { RecentSessionEvents } from '../src/recent-session-events.js';
import type { SessionEventRecord } from '../src/session-event-log.js';
import type { SessionRecord } from '../src/session-record.js';

const ORG = '0190a3e4-0000-7000-8000-000000000001';
const OTHER_ORG = '0190a3e4-0000-7000-8000-000000000002';
const SESSION = '0190a3e4-0000-7000-8000-0000000000aa';

const sessionAt = (lastSeq: number): SessionRecord => ({ id: SESSION, orgId: ORG, state: 'running', lastSeq }) as SessionRecord;
const events = (from: number, to: number): SessionEventRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, turn: 1, time: new Date(0), event: create(AgentEventSchema) }));
const seqs = (answer: { events: SessionEventRecord[] } | undefined) => answer?.events.map((e) => e.seq);

describe('RecentSessionEvents', () => {
  it('keeps appends only for a followed session, and forgets them when the last watcher leaves', () => {
    const recent = new RecentSessionEvents();
    recent.appended(sessionAt(2), events(1, 2));
    expect(recent.after(ORG, SESSION, 0, 10)).to.equal(undefined);
    const first = recent.follow(SESSION, 2);
    const second = recent.follow(SESSION, 2);
    recent.appended(sessionAt(4), events(3, 4));
    first.release();
    first.release();
    expect(seqs(recent.after(ORG, SESSION, 2, 10))).to.deep.equal([3, 4]);
    second.release();
    expect(recent.after(ORG, SESSION, 2, 10)).to.equal(undefined);
  });

  it('answers only from the very next seq on, up to the limit, with the session the newest append left', () => {
    const recent = new RecentSessionEvents();
    recent.follow(SESSION, 0);
    recent.appended(sessionAt(3), events(1, 3));
    recent.appended(sessionAt(5), events(4, 5));
    expect(recent.after(ORG, SESSION, 0, 2)).to.deep.include({ session: sessionAt(5) });
    expect(seqs(recent.after(ORG, SESSION, 0, 2))).to.deep.equal([1, 2]);
    expect(seqs(recent.after(ORG, SESSION, 3, 10))).to.deep.equal([4, 5]);
    // Nothing newer: PostgreSQL answers (a change without events, such as a cancellation, is seen there).
    expect(recent.after(ORG, SESSION, 5, 10)).to.equal(undefined);
  });

  it('keeps what the slowest watcher has not passed, and nothing every watcher has', () => {
    const recent = new RecentSessionEvents();
    const fast = recent.follow(SESSION, 0);
    const slow = recent.follow(SESSION, 0);
    recent.appended(sessionAt(6), events(1, 6));
    fast.passed(6);
    slow.passed(2);
    expect(seqs(recent.after(ORG, SESSION, 2, 10))).to.deep.equal([3, 4, 5, 6]);
    expect(recent.after(ORG, SESSION, 1, 10)).to.equal(undefined);
    slow.release();
    expect(recent.after(ORG, SESSION, 2, 10)).to.equal(undefined);
  });

  it('starts over after a gap (another instance appended in between), so it never skips a seq', () => {
    const recent = new RecentSessionEvents();
    recent.follow(SESSION, 0);
    recent.appended(sessionAt(2), events(1, 2));
    recent.appended(sessionAt(9), events(8, 9));
    expect(recent.after(ORG, SESSION, 2, 10)).to.equal(undefined);
    expect(seqs(recent.after(ORG, SESSION, 7, 10))).to.deep.equal([8, 9]);
  });

  it("answers nothing for another org's request", () => {
    const recent = new RecentSessionEvents();
    recent.follow(SESSION, 0);
    recent.appended(sessionAt(1), events(1, 1));
    expect(recent.after(OTHER_ORG, SESSION, 0, 10)).to.equal(undefined);
  });

  it('keeps the newest 4096 events of a session for a watcher that falls behind', () => {
    const recent = new RecentSessionEvents();
    recent.follow(SESSION, 0);
    recent.appended(sessionAt(3000), events(1, 3000));
    recent.appended(sessionAt(5000), events(3001, 5000));
    expect(recent.after(ORG, SESSION, 903, 1)).to.equal(undefined);
    expect(seqs(recent.after(ORG, SESSION, 904, 1))).to.deep.equal([905]);
  });
});
