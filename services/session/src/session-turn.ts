import { Code } from '@connectrpc/connect';
import type { SqlTransaction } from '@foundation/db';
import { rpcError } from '@foundation/kit';
import { v7 as uuidv7 } from 'uuid';
import { isFinal, readSession, sessionRecord, type SessionRecord } from './session-record.js';
import type { TurnState } from './turn-outcome.js';

/** Turns: one brain task each, numbered per session. Helpers for SessionStore's transactions. */

/** A turn: one brain task. */
export interface TurnRecord {
  taskId: string;
  turn: number;
  state: TurnState;
  lastTaskSeq: number;
}

/** A session with the turn a call started or found. */
export interface SessionTurn {
  session: SessionRecord;
  turn: TurnRecord;
}

/** An agent.run node attempt, which has one session. */
export interface WorkflowNodeAttempt {
  runId: string;
  nodeId: string;
  attempt: number;
}

/** An agent_execute tool call of a task, which has one session. */
export interface ToolCallOrigin {
  parentTaskId: string;
  callId: string;
}

export async function insertTurn(tx: SqlTransaction, orgId: string, sessionId: string, turn: number, now: Date): Promise<TurnRecord> {
  const taskId = uuidv7();
  await tx.query(
    `insert into session.agent_session_turns (task_id, org_id, session_id, turn, state, created_at) values ($1, $2, $3, $4, 'pending', $5)`,
    [taskId, orgId, sessionId, turn, now],
  );
  return { taskId, turn, state: 'pending', lastTaskSeq: 0 };
}

/** The task of the session's current turn while the session has not ended and the turn waits or runs. */
export async function activeTaskOf(tx: SqlTransaction, session: SessionRecord): Promise<string | undefined> {
  if (isFinal(session.state)) return undefined;
  const turn = await readTurn(tx, session.id, session.turns);
  return turn && (turn.state === 'pending' || turn.state === 'running') ? turn.taskId : undefined;
}

export async function readTurn(tx: SqlTransaction, sessionId: string, turn: number): Promise<TurnRecord | undefined> {
  const rows = await tx.query('select * from session.agent_session_turns where session_id = $1 and turn = $2', [sessionId, turn]);
  return rows[0] && turnRecord(rows[0]);
}

/** The one-turn session of an agent.run node attempt or of a tool call, with its (only) turn. */
export async function oneTurnSessionOf(tx: SqlTransaction, origin: { workflowNode?: WorkflowNodeAttempt; toolCall?: ToolCallOrigin }): Promise<SessionTurn> {
  const { workflowNode: node, toolCall: call } = origin;
  const rows = node
    ? await tx.query(`select * from session.agent_sessions where workflow_run_id = $1 and workflow_node_id = $2 and workflow_attempt = $3`,
        [node.runId, node.nodeId, node.attempt])
    : await tx.query(`select * from session.agent_sessions where parent_task_id = $1 and tool_call_id = $2`, [call!.parentTaskId, call!.callId]);
  const session = sessionRecord(rows[0]!);
  return { session, turn: (await readTurn(tx, session.id, 1))! };
}

/** The session whose turn `taskId` is; NOT_FOUND for a task that is no turn of a session of the org. */
async function sessionOfTask(tx: SqlTransaction, taskId: string): Promise<string> {
  const found = await tx.query<{ session_id: string }>('select session_id from session.agent_session_turns where task_id = $1', [taskId]);
  if (!found[0]) throw unknownTaskError(taskId);
  return found[0].session_id;
}

/** NOT_FOUND for a task that is no turn of a session of the org. */
export function unknownTaskError(taskId: string) {
  return rpcError(Code.NotFound, 'NOT_FOUND', `task ${taskId} is no turn of a session of this organization`);
}

/**
 * The session of a task whose turn is under way, for a tool call of it that starts a child session;
 * SESSION_FINISHED once the turn or its session ended (nobody waits for the child any more).
 */
export async function callingSessionOf(tx: SqlTransaction, taskId: string): Promise<string> {
  const session = await readSession(tx, await sessionOfTask(tx, taskId));
  if ((await activeTaskOf(tx, session)) !== taskId) {
    throw rpcError(Code.FailedPrecondition, 'SESSION_FINISHED', `task ${taskId} is no longer under way (its session is ${session.state}), so it cannot start an agent`);
  }
  return session.id;
}

/**
 * Locks a task's session, then its turn (the order every change takes); NOT_FOUND for an unknown task.
 * Both in one round trip (`session.lock_task`, session migration 0003): this runs for every batch of
 * events a node reports.
 */
export async function lockTask(tx: SqlTransaction, taskId: string): Promise<SessionTurn> {
  const rows = await tx.query<{ session_row: Record<string, unknown>; turn_row: Record<string, unknown> }>(
    'select session_row, turn_row from session.lock_task($1)',
    [taskId],
  );
  if (!rows[0]) throw unknownTaskError(taskId);
  return { session: sessionRecord(rows[0].session_row), turn: turnRecord(rows[0].turn_row) };
}

function turnRecord(row: Record<string, unknown>): TurnRecord {
  return {
    taskId: row['task_id'] as string,
    turn: row['turn'] as number,
    state: row['state'] as TurnState,
    lastTaskSeq: Number(row['last_task_seq']),
  };
}
