import type { JsonValue } from '@foundation/workflow-dsl';
import type pg from 'pg';
import { callTenantFunction, dateOf } from '@foundation/db';

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
 * Events as `workflow.append_run_events` (migration 0003) takes them: each key once (the function checks
 * only the keys already stored, and skips those), defaults filled in, payloads bounded.
 */
export function storableEvents(events: NewRunEvent[], payloadMaxBytes: number) {
  const keys = new Set<string>();
  return events
    .filter((e) => !keys.has(e.key) && (keys.add(e.key), true))
    .map((e) => ({
      key: e.key,
      type: e.type,
      nodeId: e.nodeId ?? '',
      attempt: e.attempt ?? 0,
      payload: boundedPayload(e.payload ?? {}, payloadMaxBytes),
      time: (e.time ?? new Date()).toISOString(),
    }));
}

/**
 * Events of a run after `afterSeq`, in order, in one call to the tenant function `workflow.read_run_events`
 * (migration 0004). Empty as well for a run that is not in the org.
 */
export async function readRunEvents(pool: pg.Pool, orgId: string, runId: string, afterSeq: number, limit: number): Promise<RunEventRecord[]> {
  const rows = await callTenantFunction(pool, orgId, 'workflow.read_run_events', [runId, afterSeq, limit]);
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
