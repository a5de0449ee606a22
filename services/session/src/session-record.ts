import { Code } from '@connectrpc/connect';
import { dateOf, type SqlTransaction } from '@foundation/db';
import { rpcError } from '@foundation/kit';

export type SessionState = 'pending' | 'running' | 'idle' | 'completed' | 'failed' | 'cancelled';
export type FinalSessionState = Extract<SessionState, 'completed' | 'failed' | 'cancelled'>;

/** A session row as the service reads it. */
export interface SessionRecord {
  id: string;
  orgId: string;
  engine: string;
  /** Empty while the first turn waits for a node. */
  executorId: string;
  workspace: string;
  state: SessionState;
  title: string;
  engineSessionId: string;
  engineVersion: string;
  toolBridge: boolean;
  turns: number;
  lastSeq: number;
  reason: string;
  /** Empty for an agent.run session. */
  createdBy: string;
  /** Empty for a session a user opened. */
  workflowRunId: string;
  /** For an agent_execute tool call's session: the calling session; else empty. */
  parentSessionId: string;
  createdAt: Date;
  updatedAt: Date;
}

export function isFinal(state: SessionState): state is FinalSessionState {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/** An agent.run node's or an agent_execute tool call's session lives for one turn: its turn's end is its own. */
export function isOneTurn(session: SessionRecord): boolean {
  return session.workflowRunId !== '' || session.parentSessionId !== '';
}

export async function readSession(tx: SqlTransaction, sessionId: string): Promise<SessionRecord> {
  return sessionOf(await tx.query('select * from session.agent_sessions where id = $1', [sessionId]), sessionId);
}

/** Reads and locks a session for a change; NOT_FOUND when it is not in the tenant's scope. */
export async function lockSession(tx: SqlTransaction, sessionId: string): Promise<SessionRecord> {
  return sessionOf(await tx.query('select * from session.agent_sessions where id = $1 for update', [sessionId]), sessionId);
}

function sessionOf(rows: Record<string, unknown>[], sessionId: string): SessionRecord {
  if (!rows[0]) throw rpcError(Code.NotFound, 'NOT_FOUND', `session ${sessionId} does not exist in this organization`);
  return sessionRecord(rows[0]);
}

export function sessionRecord(row: Record<string, unknown>): SessionRecord {
  return {
    id: row['id'] as string,
    orgId: row['org_id'] as string,
    engine: row['engine'] as string,
    executorId: (row['executor_id'] as string | null) ?? '',
    workspace: row['workspace'] as string,
    state: row['state'] as SessionState,
    title: row['title'] as string,
    engineSessionId: row['engine_session_id'] as string,
    engineVersion: row['engine_version'] as string,
    toolBridge: row['tool_bridge'] as boolean,
    turns: row['turns'] as number,
    lastSeq: Number(row['last_seq']),
    reason: row['reason'] as string,
    createdBy: (row['created_by'] as string | null) ?? '',
    workflowRunId: (row['workflow_run_id'] as string | null) ?? '',
    parentSessionId: (row['parent_session_id'] as string | null) ?? '',
    createdAt: dateOf(row['created_at']),
    updatedAt: dateOf(row['updated_at']),
  };
}
