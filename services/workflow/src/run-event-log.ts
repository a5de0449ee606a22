import type { JsonValue } from '@foundation/workflow-dsl';
import { dateOf, type SqlTransaction } from '@foundation/db';

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
 * which makes a report that is sent twice harmless. One statement: it numbers the new events, inserts them
 * and moves the run's `last_seq`, which it returns.
 */
export async function appendRunEvents(
  tx: SqlTransaction,
  orgId: string,
  runId: string,
  lastSeq: number,
  events: NewRunEvent[],
  payloadMaxBytes: number,
): Promise<number> {
  const keys = new Set<string>();
  const batch = events
    .filter((e) => !keys.has(e.key) && (keys.add(e.key), true))
    .map((e) => ({
      key: e.key,
      type: e.type,
      nodeId: e.nodeId ?? '',
      attempt: e.attempt ?? 0,
      payload: boundedPayload(e.payload ?? {}, payloadMaxBytes),
      time: (e.time ?? new Date()).toISOString(),
    }));
  if (batch.length === 0) return lastSeq;
  const rows = await tx.query(
    `with incoming as (
       select e.value as event, e.ord from jsonb_array_elements($1::jsonb) with ordinality as e(value, ord)
     ), fresh as (
       select i.event, row_number() over (order by i.ord) as n from incoming i
       where not exists (
         select 1 from workflow.workflow_run_events x where x.org_id = $2 and x.run_id = $3 and x.event_key = i.event ->> 'key'
       )
     ), inserted as (
       insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
       select $4, $5, $6::bigint + f.n, f.event ->> 'type', f.event ->> 'nodeId', (f.event ->> 'attempt')::int, f.event -> 'payload',
              f.event ->> 'key', (f.event ->> 'time')::timestamptz
       from fresh f
       returning seq
     )
     update workflow.workflow_runs set last_seq = coalesce((select max(seq) from inserted), last_seq) where id = $7 returning last_seq`,
    [JSON.stringify(batch), orgId, runId, orgId, runId, lastSeq, runId],
  );
  return Number(rows[0]!['last_seq']);
}

/** Events of a run after `afterSeq`, in order. */
export async function readRunEvents(tx: SqlTransaction, runId: string, afterSeq: number, limit: number): Promise<RunEventRecord[]> {
  const rows = await tx.query(
    `select run_id, seq, type, node_id, attempt, payload, created_at from workflow.workflow_run_events
     where run_id = $1 and seq > $2 order by seq limit $3`,
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
