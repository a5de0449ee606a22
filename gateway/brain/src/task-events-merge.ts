import { MAX_EVENTS_PER_MESSAGE } from '@foundation/agent-engines';
import type { TaskEvents } from '@foundation/contracts';

/** TaskEvents messages read ahead of the one being relayed, and so the most merged into one relay. */
export const MAX_MERGED_MESSAGES = 8;
/** The most events of one RecordTaskEvents request, as the session service accepts (its EVENTS_MAX). */
const MAX_MERGED_EVENTS = 1000;

/**
 * Whether `next`, read right behind the messages of `merged`, can go to the session service in the same
 * RecordTaskEvents: the same task under the same lease, its events continuing the seqs without a hole
 * (as the session service requires), and the merge within its bounds. Anything else is relayed on its own,
 * exactly as it would be unmerged (a malformed message then fails alone, after the ones before it).
 *
 * The bounds keep the request far below the session service's 4 MiB read limit in practice (the
 * node-agent's events average about 1 KB); the brain does not know a decoded message's wire size, so a
 * merge of unusually large events may still pass it, and the relay then splits the request.
 */
export function continuesMerge(merged: readonly TaskEvents[], next: TaskEvents): boolean {
  const last = merged[merged.length - 1]!;
  const lastEvent = last.events[last.events.length - 1];
  const firstEvent = next.events[0];
  if (lastEvent === undefined || firstEvent === undefined) return false;
  const events = merged.reduce((sum, m) => sum + m.events.length, 0) + next.events.length;
  return (
    next.taskId === last.taskId &&
    next.leaseToken === last.leaseToken &&
    firstEvent.seq === lastEvent.seq + 1n &&
    last.events.length <= MAX_EVENTS_PER_MESSAGE &&
    next.events.length <= MAX_EVENTS_PER_MESSAGE &&
    merged.length < MAX_MERGED_MESSAGES &&
    events <= MAX_MERGED_EVENTS
  );
}
