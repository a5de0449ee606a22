import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions of `agent_execute` tool calls: each names the session whose agent called the tool and exists
 * once per calling task and call id, so StartToolAgent is idempotent on them.
 */
export class ToolAgentSessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table session.agent_sessions
      add column parent_session_id uuid,
      add column parent_task_id uuid,
      add column tool_call_id text,
      add constraint agent_sessions_tool_call_check
        check ((parent_task_id is null) = (tool_call_id is null) and (parent_task_id is null) = (parent_session_id is null))`);
    this.addSql(`create unique index agent_sessions_tool_call_idx
      on session.agent_sessions (org_id, parent_task_id, tool_call_id) where parent_task_id is not null`);
  }
}
