import type { JsonValue } from '@foundation/workflow-dsl';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dateOf } from './sql-values.js';

/** An event as it is stored and read back. */
export interface RunEventRecord {
  runId: string;
  seq: number;
  type: string;
  nodeId: string;
  attempt: number;
  payload: { [key: string]: JsonValue };
  time: Date;
}

/** An event to append; `key` makes the append idempotent (the same key twice is written once). */
export interface NewRunEvent {
  key: string;
  type: string;
  nodeId?: string;
  attempt?: number;
  payload?: { [key: string]: JsonValue };
  time?: Date;
}

/** The run events a reader stops at. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);

const PREVIEW_CHARS = 512;

/**
 * Appends events to a run whose row the caller holds locked (FOR UPDATE), so seqs continue from
 * `lastSeq` without gaps and no other writer interleaves. Events whose key is already stored are skipped,
 * which makes a report that is sent twice harmless. Returns the run's new last seq.
 */
export async function appendRunEvents(
  tx: EntityManager,
  orgId: string,
  runId: string,
  lastSeq: number,
  events: NewRunEvent[],
  payloadMaxBytes: number,
): Promise<number> {
  if (events.length === 0) return lastSeq;
  const stored = await tx.execute(
    `select event_key from workflow.workflow_run_events where run_id = ? and event_key in (select jsonb_array_elements_text(?::jsonb))`,
    [runId, JSON.stringify(events.map((e) => e.key))],
  );
  const seen = new Set(stored.map((row) => row['event_key'] as string));
  const fresh = events.filter((e) => !seen.has(e.key) && (seen.add(e.key), true));
  if (fresh.length === 0) return lastSeq;
  const values: unknown[] = [];
  let seq = lastSeq;
  for (const event of fresh) {
    seq += 1;
    values.push(
      orgId,
      runId,
      seq,
      event.type,
      event.nodeId ?? '',
      event.attempt ?? 0,
      JSON.stringify(boundedPayload(event.payload ?? {}, payloadMaxBytes)),
      event.key,
      event.time ?? new Date(),
    );
  }
  await tx.execute(
    `insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
     values ${fresh.map(() => '(?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)').join(', ')}`,
    values,
  );
  await tx.execute('update workflow.workflow_runs set last_seq = ? where id = ?', [seq, runId]);
  return seq;
}

/** Events of a run after `afterSeq`, in order. */
export async function readRunEvents(tx: EntityManager, runId: string, afterSeq: number, limit: number): Promise<RunEventRecord[]> {
  const rows = await tx.execute(
    `select run_id, seq, type, node_id, attempt, payload, created_at from workflow.workflow_run_events
     where run_id = ? and seq > ? order by seq limit ?`,
    [runId, afterSeq, limit],
  );
  return rows.map((row) => ({
    runId: row['run_id'] as string,
    seq: Number(row['seq']),
    type: row['type'] as string,
    nodeId: row['node_id'] as string,
    attempt: row['attempt'] as number,
    payload: row['payload'] as { [key: string]: JsonValue },
    time: dateOf(row['created_at']),
  }));
}

/**
 * A payload that fits the event size limit: as it is, or replaced by a marker with its size and the start
 * of its JSON, so one huge output cannot bloat the event log or every watcher's stream.
 */
export function boundedPayload(payload: { [key: string]: JsonValue }, maxBytes: number): { [key: string]: JsonValue } {
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return payload;
  return { truncated: true, bytes, preview: previewOf(json) };
}

/**
 * The start of a payload's JSON, cut between characters: half of a surrogate pair (an emoji, say) would
 * make the event unstorable, since PostgreSQL's jsonb refuses a lone surrogate, and the run with it.
 */
function previewOf(json: string): string {
  const preview = json.slice(0, PREVIEW_CHARS);
  return /[\uD800-\uDBFF]$/.test(preview) ? preview.slice(0, -1) : preview;
}
