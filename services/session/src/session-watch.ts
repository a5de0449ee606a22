import type { Session_State, SessionEvent } from '@foundation/contracts';
import { Wakeup, type EventFeed } from '@foundation/event-feed';
import { sessionEventMessage, stateAfter } from './session-messages.js';
import { isFinal } from './session-record.js';
import type { SessionStore } from './session-store.js';

const WATCH_BATCH = 500;
/** How long a watcher sleeps without a notification before it reads again anyway (a lost message). */
const WATCH_POLL_MS = 5_000;

/**
 * A session's events after `afterSeq`: those stored, then each new one as it is persisted, until the
 * session has ended and every event up to its end was sent. A notification (or, if one is lost, the poll
 * interval) wakes the loop, which reads from PostgreSQL. Subscribing before the first read means no event
 * can fall between the replay and the live part; each read takes the session and its events together, so
 * the end is seen only with every event before it. An IDLE session's watcher stays for the next turn.
 */
export async function* watchSessionEvents(
  store: SessionStore,
  feed: EventFeed,
  orgId: string,
  sessionId: string,
  afterSeq: number,
  signal: AbortSignal,
): AsyncGenerator<{ event: SessionEvent; state: Session_State }> {
  let after = afterSeq;
  const wakeup = new Wakeup();
  const { ready, unsubscribe } = feed.subscribe(sessionId, () => wakeup.wake());
  const follower = store.follow(sessionId, afterSeq);
  try {
    await ready;
    while (!signal.aborted) {
      follower.passed(after);
      const { session, events } = await store.snapshot(orgId, sessionId, after, WATCH_BATCH);
      for (const event of events) {
        yield { event: sessionEventMessage(event), state: stateAfter(event, session) };
        after = event.seq;
      }
      if (events.length === WATCH_BATCH) continue;
      if (isFinal(session.state) && after >= session.lastSeq) return;
      await wakeup.next(WATCH_POLL_MS, signal);
    }
  } finally {
    follower.release();
    unsubscribe();
  }
}
