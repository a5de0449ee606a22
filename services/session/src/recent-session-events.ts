import type { SessionEventRecord } from './session-event-log.js';
import type { SessionRecord } from './session-record.js';

/** Events kept per followed session: a watcher that falls further behind reads PostgreSQL. */
const EVENTS_PER_SESSION = 512;

interface Tail {
  watchers: number;
  /** The session as the newest kept append left it. */
  session?: SessionRecord;
  /** Consecutive seqs, oldest first. */
  events: SessionEventRecord[];
}

/**
 * The events this process appended last, for the sessions its own watchers follow. A watcher that keeps up
 * takes its next events from here instead of reading back and parsing what was just written: live
 * sessions are mostly followed as they run, and that read was the watch path's largest cost
 * (docs/benchmarks.md). What another instance appended, what is older than the kept tail, or a change
 * without events (a cancellation, a close) is read from PostgreSQL as before; only events stored exactly
 * as they are held are kept, so both paths give the same events.
 */
export class RecentSessionEvents {
  private readonly tails = new Map<string, Tail>();

  /** Keeps the session's appends while the returned release has not been called. */
  follow(sessionId: string): () => void {
    const tail = this.tails.get(sessionId) ?? { watchers: 0, events: [] };
    tail.watchers++;
    this.tails.set(sessionId, tail);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--tail.watchers === 0) this.tails.delete(sessionId);
    };
  }

  /** An append has committed: `session` is the row it left, `events` what it stored. */
  appended(session: SessionRecord, events: SessionEventRecord[]): void {
    const tail = this.tails.get(session.id);
    if (!tail || events.length === 0) return;
    const continues = tail.events.length > 0 && tail.events[tail.events.length - 1]!.seq + 1 === events[0]!.seq;
    tail.events = continues ? tail.events.concat(events).slice(-EVENTS_PER_SESSION) : events.slice(-EVENTS_PER_SESSION);
    tail.session = session;
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
