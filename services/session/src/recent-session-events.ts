import type { SessionEventRecord } from './session-event-log.js';
import type { SessionRecord } from './session-record.js';

/** Events kept per followed session at most: a watcher that falls further behind reads PostgreSQL. */
const EVENTS_PER_SESSION = 4096;

/** A watcher of a session in this process. */
export interface SessionFollower {
  /** The watcher has sent every event up to `seq`: the tail no longer keeps them for it. */
  passed(seq: number): void;
  /** The watcher is gone. */
  release(): void;
}

interface Tail {
  /** Each follower's last sent seq. */
  positions: Map<SessionFollower, number>;
  /** The session as the newest kept append left it. */
  session?: SessionRecord;
  /** Consecutive seqs, oldest first; none that every follower has passed. */
  events: SessionEventRecord[];
}

/**
 * The events this process appended last that its own watchers have not sent yet, per followed session. A
 * watcher takes its next events from here instead of reading back and parsing what was just written: live
 * sessions are mostly followed as they run, and that read was the watch path's largest cost
 * (docs/benchmarks.md). What another instance appended, what is older than the kept tail, or a change
 * without events (a cancellation, a close) is read from PostgreSQL as before; only events stored exactly
 * as they are held are kept, so both paths give the same events. Memory follows the watchers' backlog,
 * at most EVENTS_PER_SESSION events per followed session.
 */
export class RecentSessionEvents {
  private readonly tails = new Map<string, Tail>();

  /** Keeps the session's appends for a new watcher, which starts at `afterSeq`. */
  follow(sessionId: string, afterSeq: number): SessionFollower {
    const tail = this.tails.get(sessionId) ?? { positions: new Map(), events: [] };
    this.tails.set(sessionId, tail);
    const follower: SessionFollower = {
      passed: (seq) => {
        if (!tail.positions.has(follower)) return;
        tail.positions.set(follower, seq);
        trim(tail);
      },
      release: () => {
        if (!tail.positions.delete(follower)) return;
        if (tail.positions.size === 0) this.tails.delete(sessionId);
        else trim(tail);
      },
    };
    tail.positions.set(follower, afterSeq);
    return follower;
  }

  /** An append has committed: `session` is the row it left, `events` what it stored. */
  appended(session: SessionRecord, events: SessionEventRecord[]): void {
    const tail = this.tails.get(session.id);
    if (!tail || events.length === 0) return;
    const continues = tail.events.length > 0 && tail.events[tail.events.length - 1]!.seq + 1 === events[0]!.seq;
    tail.events = continues ? tail.events.concat(events) : events;
    tail.session = session;
    trim(tail);
  }

  /**
   * The session's events after `afterSeq` (at most `limit`) with the session as they left it, when the
   * tail holds the very next one and the session is the org's; otherwise undefined, for PostgreSQL to answer.
   */
  after(orgId: string, sessionId: string, afterSeq: number, limit: number): { session: SessionRecord; events: SessionEventRecord[] } | undefined {
    const tail = this.tails.get(sessionId);
    const first = tail?.events[0];
    if (!tail?.session || !first || tail.session.orgId !== orgId) return undefined;
    const start = afterSeq + 1 - first.seq;
    if (start < 0 || start >= tail.events.length) return undefined;
    return { session: tail.session, events: tail.events.slice(start, start + limit) };
  }
}

/** Drops what every follower has passed, and what is beyond the bound. */
function trim(tail: Tail): void {
  const slowest = Math.min(...tail.positions.values());
  const first = tail.events[0];
  if (!first) return;
  const drop = Math.max(slowest + 1 - first.seq, tail.events.length - EVENTS_PER_SESSION, 0);
  if (drop > 0) tail.events = tail.events.slice(drop);
}
