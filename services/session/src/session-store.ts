import type pg from 'pg';
import { Code } from '@connectrpc/connect';
import type { TaskEvent } from '@foundation/contracts';
import { callTenantFunction, withTenantSql } from '@foundation/db';
import { rpcError, type PageWindow } from '@foundation/kit';
import { v7 as uuidv7 } from 'uuid';
import { appendTaskEvents, readSessionEvents, type SessionEventRecord } from './session-event-log.js';
import { RecentSessionEvents, type SessionFollower } from './recent-session-events.js';
import { isFinal, lockSession, readSession, sessionRecord, type SessionRecord, type SessionState } from './session-record.js';
import {
  activeTaskOf,
  callingSessionOf,
  insertTurn,
  lockTask,
  unknownTaskError,
  oneTurnSessionOf,
  type SessionTurn,
  type ToolCallOrigin,
  type WorkflowNodeAttempt,
} from './session-turn.js';
import { applyTurnEvents } from './turn-outcome.js';

/** What a new session is made of; the store fills in the rest. */
export interface NewSession {
  engine: string;
  executorId: string;
  workspace: string;
  title: string;
  toolBridge: boolean;
  createdBy: string;
  /** Set for an agent.run node attempt's session, which exists once per run, node and attempt. */
  workflowNode?: WorkflowNodeAttempt;
  /** Set for an agent_execute tool call's session, which exists once per calling task and call id. */
  toolCall?: ToolCallOrigin;
}

/** What a batch of task events did. */
export interface RecordedEvents {
  session: SessionRecord;
  /** Every event of the task up to this task seq is stored. */
  persistedSeq: number;
  appended: number;
}

/**
 * Sessions, their turns and events in PostgreSQL. Every query runs in a tenant transaction; a change locks
 * the session's row first, so turns start, end and number their events one at a time per session.
 */
export class SessionStore {
  private readonly recent = new RecentSessionEvents();

  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A watcher follows the session from `afterSeq` until it releases the follower: `snapshot` may answer from memory. */
  follow(sessionId: string, afterSeq: number): SessionFollower {
    return this.recent.follow(sessionId, afterSeq);
  }

  /**
   * Inserts a PENDING session with its first turn. For an agent.run node attempt or a tool call whose
   * session exists, that one is returned (`created` false), also when two starts race. A tool call's
   * session is the child of its calling task's session: NOT_FOUND when the task is no turn of the org,
   * SESSION_FINISHED when it is no longer under way.
   */
  async open(orgId: string, session: NewSession): Promise<SessionTurn & { created: boolean }> {
    const id = uuidv7();
    const now = this.now();
    const node = session.workflowNode;
    if (session.toolCall) return this.openToolCallSession(orgId, id, session, session.toolCall, now);
    const taskId = uuidv7();
    // One round trip: the session and its turn in one tenant function (session migration 0003).
    const rows = await callTenantFunction(this.pool, orgId, 'session.open_session', [
      id, taskId, session.engine, session.executorId || null, session.workspace, session.title, session.toolBridge, session.createdBy || null,
      node?.runId ?? null, node?.nodeId ?? null, node?.attempt ?? null, now,
    ]);
    if (!rows[0]) return { ...(await withTenantSql(this.pool, orgId, (tx) => oneTurnSessionOf(tx, session))), created: false };
    return { session: sessionRecord(rows[0]), turn: { taskId, turn: 1, state: 'pending', lastTaskSeq: 0 }, created: true };
  }

  /** `open` for a tool call's session, which checks its calling task in the same transaction. */
  private openToolCallSession(orgId: string, id: string, session: NewSession, call: ToolCallOrigin, now: Date): Promise<SessionTurn & { created: boolean }> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const parentSessionId = await callingSessionOf(tx, call.parentTaskId);
      // No conflict target: the unique index of tool calls makes a second start a no-op.
      const rows = await tx.query(
        `insert into session.agent_sessions (id, org_id, engine, executor_id, workspace, state, title, tool_bridge, turns, created_by,
           parent_session_id, parent_task_id, tool_call_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'pending', $6, $7, 1, $8, $9, $10, $11, $12, $12)
         on conflict do nothing
         returning *`,
        [id, orgId, session.engine, session.executorId || null, session.workspace, session.title, session.toolBridge, session.createdBy || null,
          parentSessionId, call.parentTaskId, call.callId, now],
      );
      if (!rows[0]) return { ...(await oneTurnSessionOf(tx, session)), created: false };
      const turn = await insertTurn(tx, orgId, id, 1, now);
      return { session: sessionRecord(rows[0]), turn, created: true };
    });
  }

  /**
   * Deletes a session whose first turn the brain refused, if nothing happened to it meanwhile: a failed
   * start leaves nothing behind.
   */
  async remove(orgId: string, sessionId: string): Promise<void> {
    await withTenantSql(this.pool, orgId, (tx) =>
      tx.query(`delete from session.agent_sessions where id = $1 and state = 'pending' and turns = 1 and last_seq = 0`, [sessionId]),
    );
  }

  get(orgId: string, sessionId: string): Promise<SessionRecord> {
    return withTenantSql(this.pool, orgId, (tx) => readSession(tx, sessionId));
  }

  /**
   * The sessions of the node's attempts before `node.attempt` that have not ended, oldest first. The unique
   * index of node attempts serves the lookup: org (from the tenant policy), run and node, then a range of
   * attempts.
   */
  /** The sessions of a workflow node's attempts, oldest attempt first, with whether each is still under way. */
  async nodeAttempts(orgId: string, node: Omit<WorkflowNodeAttempt, 'attempt'>): Promise<{ sessionId: string; attempt: number; live: boolean }[]> {
    const rows = await withTenantSql(this.pool, orgId, (tx) =>
      tx.query<{ id: string; workflow_attempt: number; state: SessionState }>(
        `select id, workflow_attempt, state from session.agent_sessions
         where workflow_run_id = $1 and workflow_node_id = $2
         order by workflow_attempt`,
        [node.runId, node.nodeId],
      ),
    );
    return rows.map((r) => ({ sessionId: r.id, attempt: r.workflow_attempt, live: !isFinal(r.state) }));
  }

  /** Newest first (ids are UUIDv7). */
  list(orgId: string, window: PageWindow): Promise<SessionRecord[]> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const rows = await tx.query(
        `select * from session.agent_sessions where ($1::uuid is null or id < $2::uuid) order by id desc limit $3`,
        [window.after?.id ?? null, window.after?.id ?? null, window.limit + 1],
      );
      return rows.map(sessionRecord);
    });
  }

  /**
   * The session and its events after `afterSeq`, read together: every event up to the session's
   * `lastSeq` is visible, since they commit in the same transaction. NOT_FOUND outside the tenant. For a
   * followed session (`follow`) whose next events this process appended, they come from memory.
   */
  async snapshot(orgId: string, sessionId: string, afterSeq: number, limit: number): Promise<{ session: SessionRecord; events: SessionEventRecord[] }> {
    const recent = this.recent.after(orgId, sessionId, afterSeq, limit);
    if (recent) return recent;
    return withTenantSql(this.pool, orgId, async (tx) => {
      const session = await readSession(tx, sessionId);
      return { session, events: await readSessionEvents(tx, sessionId, afterSeq, session.lastSeq, limit) };
    });
  }

  /** The task of the session's current turn while the session has not ended and the turn waits or runs. */
  activeTask(orgId: string, sessionId: string): Promise<string | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => activeTaskOf(tx, await readSession(tx, sessionId)));
  }

  /** Starts the next turn of an IDLE session; SESSION_BUSY or SESSION_FINISHED otherwise. */
  beginTurn(orgId: string, sessionId: string): Promise<SessionTurn> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const session = await lockSession(tx, sessionId);
      if (session.state !== 'idle') throw notIdle(session, 'take a message');
      const now = this.now();
      const turn = await insertTurn(tx, orgId, sessionId, session.turns + 1, now);
      const rows = await tx.query(
        `update session.agent_sessions set state = 'pending', turns = $1, updated_at = $2 where id = $3 returning *`,
        [turn.turn, now, sessionId],
      );
      return { session: sessionRecord(rows[0]!), turn };
    });
  }

  /** Undoes `beginTurn` when the brain refused the turn and nothing happened to it meanwhile. */
  async abandonTurn(orgId: string, sessionId: string, taskId: string): Promise<void> {
    await withTenantSql(this.pool, orgId, async (tx) => {
      const session = await lockSession(tx, sessionId);
      const deleted = await tx.query(
        `delete from session.agent_session_turns where task_id = $1 and turn = $2 and state = 'pending' and last_task_seq = 0 returning turn`,
        [taskId, session.turns],
      );
      if (deleted.length === 0 || session.state !== 'pending') return;
      await tx.query(`update session.agent_sessions set state = 'idle', turns = turns - 1, updated_at = $1 where id = $2`, [this.now(), sessionId]);
    });
  }

  /**
   * Ends the session as CANCELLED once `stoppedTaskId` (the task the caller stopped, or "" for none) is its
   * only active one; undefined when another turn started meanwhile, which must be stopped first. An ended
   * session is returned as it is (`changed` false).
   */
  cancel(orgId: string, sessionId: string, reason: string, stoppedTaskId: string): Promise<{ session: SessionRecord; changed: boolean } | undefined> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const session = await lockSession(tx, sessionId);
      if (isFinal(session.state)) return { session, changed: false };
      const active = await activeTaskOf(tx, session);
      if (active !== undefined && active !== stoppedTaskId) return undefined;
      const rows = await tx.query(
        `update session.agent_sessions set state = 'cancelled', reason = $1, updated_at = $2 where id = $3 returning *`,
        [reason, this.now(), sessionId],
      );
      return { session: sessionRecord(rows[0]!), changed: true };
    });
  }

  /** Ends an IDLE session as COMPLETED; SESSION_BUSY or SESSION_FINISHED otherwise. */
  close(orgId: string, sessionId: string): Promise<SessionRecord> {
    return withTenantSql(this.pool, orgId, async (tx) => {
      const session = await lockSession(tx, sessionId);
      if (session.state !== 'idle') throw notIdle(session, 'be closed');
      const rows = await tx.query(`update session.agent_sessions set state = 'completed', updated_at = $1 where id = $2 returning *`, [this.now(), sessionId]);
      return sessionRecord(rows[0]!);
    });
  }

  /**
   * A node took the task: its turn runs, and so does the session if this is its current turn and it was
   * waiting. NOT_FOUND for a task that is no turn of the org.
   */
  async assigned(orgId: string, taskId: string, executorId: string): Promise<SessionRecord> {
    // One round trip (session migration 0003), so the lock the node's first event waits for is held briefly.
    const rows = await callTenantFunction(this.pool, orgId, 'session.mark_assigned', [taskId, executorId, this.now()]);
    if (!rows[0]) throw unknownTaskError(taskId);
    return sessionRecord(rows[0]);
  }

  /**
   * Stores a task's events that are not stored yet (by task seq), numbering them after the session's last
   * seq, and applies them to the session (engine session id, version, the turn's end), in one transaction.
   * `events` are consecutive; FAILED_PRECONDITION (MALFORMED_REQUEST) when they start after the next one
   * expected, which would leave a gap.
   */
  async recordEvents(orgId: string, taskId: string, events: TaskEvent[]): Promise<RecordedEvents> {
    const recorded = await withTenantSql(this.pool, orgId, async (tx): Promise<RecordedEvents & { stored?: SessionEventRecord[] }> => {
      const { session, turn } = await lockTask(tx, taskId);
      const fresh = events.filter((e) => Number(e.seq) > turn.lastTaskSeq);
      if (fresh.length === 0) return { session, persistedSeq: turn.lastTaskSeq, appended: 0 };
      const first = Number(fresh[0]!.seq);
      if (first !== turn.lastTaskSeq + 1) {
        throw rpcError(
          Code.FailedPrecondition,
          'MALFORMED_REQUEST',
          `task ${taskId} has its events stored up to seq ${turn.lastTaskSeq}, so the next must be ${turn.lastTaskSeq + 1}, not ${first}: send the missing events first`,
        );
      }
      const target = { orgId, sessionId: session.id, turn: turn.turn, taskId, lastSeq: session.lastSeq };
      const { row, stored } = await appendTaskEvents(tx, target, fresh, applyTurnEvents(session, turn, fresh), this.now());
      return { session: sessionRecord(row), persistedSeq: Number(fresh[fresh.length - 1]!.seq), appended: fresh.length, stored };
    });
    const { stored, ...result } = recorded;
    // Committed: this process's watchers may take the events from memory now.
    if (stored) this.recent.appended(result.session, stored);
    return result;
  }
}

/** SESSION_BUSY or SESSION_FINISHED for a change that needs an IDLE session. */
function notIdle(session: SessionRecord, what: string) {
  return isFinal(session.state)
    ? rpcError(Code.FailedPrecondition, 'SESSION_FINISHED', `the session is ${session.state}, so it cannot ${what}; open a new session`)
    : rpcError(Code.FailedPrecondition, 'SESSION_BUSY', `the session is ${session.state} (a turn is under way), so it cannot ${what} yet; wait until it is idle, or cancel it`);
}
