import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { AgentEventSchema, type AgentEvent, type TaskEvent } from '@foundation/contracts';
import { dateOf, type SqlTransaction } from '@foundation/db';
import type { SessionChange } from './turn-outcome.js';

/** A stored event of a session. */
export interface SessionEventRecord {
  seq: number;
  turn: number;
  time: Date;
  event: AgentEvent;
}

/** Where a batch of a task's events goes: its session, turn, and the seqs to continue from. */
export interface EventAppendTarget {
  orgId: string;
  sessionId: string;
  turn: number;
  taskId: string;
  /** The session's last seq; the batch continues from it. */
  lastSeq: number;
}

/** What an append stored. */
export interface AppendedEvents {
  /** The session row as the append changed it. */
  row: Record<string, unknown>;
  /** The events as a reader gets them back; undefined when storing changed some (see `storableJson`). */
  stored?: SessionEventRecord[];
}

/**
 * Inserts a task's new events (their task seqs consecutive, after what is stored, as the caller checked
 * under the session's lock) with session seqs following `lastSeq`, moves the turn and the session past
 * them and returns the session row as changed: one statement, so a batch costs one round trip to
 * PostgreSQL whatever its size. Each event is stored as the protobuf JSON of its AgentEvent.
 */
export async function appendTaskEvents(
  tx: SqlTransaction,
  target: EventAppendTarget,
  events: TaskEvent[],
  change: SessionChange,
  now: Date,
): Promise<AppendedEvents> {
  const records = events.map((e, i) => ({
    seq: target.lastSeq + i + 1,
    turn: target.turn,
    time: e.time ? timestampDate(e.time) : now,
    event: e.event ?? create(AgentEventSchema),
  }));
  const json = JSON.stringify(
    records.map((r, i) => ({ taskSeq: String(events[i]!.seq), time: r.time.toISOString(), event: toJson(AgentEventSchema, r.event) })),
  );
  const storable = storableJson(json);
  const rows = await tx.query(
    `with inserted_events as (
       insert into session.agent_session_events (org_id, session_id, seq, turn, task_id, task_seq, time, event)
       select $2, $3, $4::bigint + e.ord, $5, $6, (e.value ->> 'taskSeq')::bigint, (e.value ->> 'time')::timestamptz, e.value -> 'event'
       from jsonb_array_elements($1::jsonb) with ordinality as e(value, ord)
     ), moved_turn as (
       update session.agent_session_turns set state = $7, last_task_seq = $8 where task_id = $6
     )
     update session.agent_sessions set last_seq = $4::bigint + $9::bigint, state = $10, reason = $11, engine_session_id = $12,
       engine_version = $13, updated_at = $14
     where id = $3 returning *`,
    [
      storable,
      target.orgId,
      target.sessionId,
      target.lastSeq,
      target.turn,
      target.taskId,
      change.turnState,
      Number(events[events.length - 1]!.seq),
      events.length,
      change.state,
      change.reason,
      change.engineSessionId,
      change.engineVersion,
      now,
    ],
  );
  return { row: rows[0]!, stored: storable === json ? records : undefined };
}

/** Events of a session after `afterSeq` up to `untilSeq`, in order. */
export async function readSessionEvents(tx: SqlTransaction, sessionId: string, afterSeq: number, untilSeq: number, limit: number): Promise<SessionEventRecord[]> {
  const rows = await tx.query(
    `select seq, turn, time, event from session.agent_session_events
     where session_id = $1 and seq > $2 and seq <= $3 order by seq limit $4`,
    [sessionId, afterSeq, untilSeq, limit],
  );
  return rows.map((row) => ({
    seq: Number(row['seq']),
    turn: row['turn'] as number,
    time: dateOf(row['time']),
    event: fromJson(AgentEventSchema, row['event'] as JsonValue, { ignoreUnknownFields: true }),
  }));
}

/**
 * The escapes of JSON.stringify's output that PostgreSQL's jsonb refuses: NUL, and lone surrogates (which
 * a well-formed JSON.stringify always escapes). An escaped backslash is matched as a whole, so the text
 * `\\u0000` in a string stays as it is.
 */
const REFUSED_ESCAPES = /\\\\|\\u0000|\\ud[89a-f][0-9a-f]{2}/g;

/**
 * JSON that PostgreSQL's jsonb accepts. Engine output may well contain NUL or a lone surrogate (a binary
 * file printed by a command, a line cut mid-emoji): each becomes U+FFFD rather than failing the whole
 * batch, and with it the node's delivery. Most batches have no escape at all and are returned as they are.
 */
function storableJson(json: string): string {
  if (!json.includes('\\u')) return json;
  return json.replace(REFUSED_ESCAPES, (escape) => (escape === '\\\\' ? escape : '\\ufffd'));
}
