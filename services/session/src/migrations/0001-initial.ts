import { Migration } from '@mikro-orm/migrations';
import { tenantRlsSql } from '@foundation/db';

/**
 * Coding-agent sessions, their turns (one brain task each) and their events, all under row-level security
 * by org. An event is unique by `(task_id, task_seq)`, the numbering the node-agent gives it, so an event
 * the brain hands over twice (after a reconnect) is stored once; `seq` is the session's own numbering
 * across turns, which readers page and resume by.
 */
export class InitialSessionSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table session.agent_sessions (
      id uuid primary key,
      org_id uuid not null,
      engine text not null,
      executor_id uuid,
      workspace text not null,
      state text not null check (state in ('pending', 'running', 'idle', 'completed', 'failed', 'cancelled')),
      title text not null,
      engine_session_id text not null default '',
      engine_version text not null default '',
      tool_bridge boolean not null,
      turns integer not null check (turns >= 1),
      last_seq bigint not null default 0,
      reason text not null default '',
      created_by uuid,
      workflow_run_id uuid,
      workflow_node_id text,
      workflow_attempt integer,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`);
    this.addSql('create index agent_sessions_org_idx on session.agent_sessions (org_id, id)');
    // One session per agent.run node attempt: StartAgentRun is idempotent on it.
    this.addSql(`create unique index agent_sessions_workflow_node_idx
      on session.agent_sessions (org_id, workflow_run_id, workflow_node_id, workflow_attempt) where workflow_run_id is not null`);
    this.addSql(`create table session.agent_session_turns (
      task_id uuid primary key,
      org_id uuid not null,
      session_id uuid not null references session.agent_sessions (id) on delete cascade,
      turn integer not null check (turn >= 1),
      state text not null check (state in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
      last_task_seq bigint not null default 0,
      created_at timestamptz not null,
      unique (org_id, session_id, turn)
    )`);
    this.addSql(`create table session.agent_session_events (
      org_id uuid not null,
      session_id uuid not null references session.agent_sessions (id) on delete cascade,
      seq bigint not null check (seq >= 1),
      turn integer not null,
      task_id uuid not null,
      task_seq bigint not null check (task_seq >= 1),
      time timestamptz not null,
      event jsonb not null,
      primary key (org_id, session_id, seq),
      unique (task_id, task_seq)
    )`);
    for (const table of ['agent_sessions', 'agent_session_turns', 'agent_session_events']) {
      for (const statement of tenantRlsSql('session', table)) this.addSql(statement);
    }
  }
}
