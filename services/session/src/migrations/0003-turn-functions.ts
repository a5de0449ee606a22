import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * The session writes of every dispatch as tenant functions (see `tenantFunctionSql`): one round trip to
 * PostgreSQL each instead of a tenant transaction's four to six, under the same row-level security.
 *
 * - `open_session`: a new session with its first turn, as SessionStore.open inserts them; no row when the
 *   session of the node attempt exists already (the caller then reads that one).
 * - `mark_assigned`: SessionStore.assigned. It locks the session, then the turn (the order every change
 *   takes), through `lock_task`, and holds the lock for this one call only: a node's first event, which waits for the same
 *   lock, is not kept waiting behind round trips. No row for a task that is no turn of the org.
 * - `lock_task`: lockTask's two statements (the session, then the turn, each locked) in one round trip,
 *   inside the caller's tenant transaction; the rows as JSON, since a function returns one row type. Not
 *   a tenant function: it runs in the transaction's org.
 */
export class TurnFunctions extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      tenantFunctionSql({
        name: 'session.open_session',
        params: `id uuid, task_id uuid, engine text, executor_id uuid, workspace text, title text, tool_bridge boolean, created_by uuid,
          workflow_run_id uuid, workflow_node_id text, workflow_attempt integer, now timestamptz`,
        returns: 'setof session.agent_sessions',
        body: `
          return query
            insert into session.agent_sessions (id, org_id, engine, executor_id, workspace, state, title, tool_bridge, turns, created_by,
              workflow_run_id, workflow_node_id, workflow_attempt, created_at, updated_at)
            values (open_session.id, open_session.org_id, open_session.engine, open_session.executor_id, open_session.workspace, 'pending',
              open_session.title, open_session.tool_bridge, 1, open_session.created_by, open_session.workflow_run_id,
              open_session.workflow_node_id, open_session.workflow_attempt, open_session.now, open_session.now)
            on conflict do nothing
            returning *;
          if found then
            insert into session.agent_session_turns (task_id, org_id, session_id, turn, state, created_at)
            values (open_session.task_id, open_session.org_id, open_session.id, 1, 'pending', open_session.now);
          end if;
          return;`,
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'session.mark_assigned',
        params: 'task_id uuid, executor_id uuid, now timestamptz',
        returns: 'setof session.agent_sessions',
        body: `
          declare
            locked record;
            s session.agent_sessions;
            t session.agent_session_turns;
          begin
            select * into locked from session.lock_task(mark_assigned.task_id);
            if not found then
              return;
            end if;
            s := jsonb_populate_record(null::session.agent_sessions, locked.session_row);
            t := jsonb_populate_record(null::session.agent_session_turns, locked.turn_row);
            if t.state = 'pending' then
              update session.agent_session_turns u set state = 'running' where u.task_id = mark_assigned.task_id;
              if t.turn = s.turns and s.state = 'pending' then
                update session.agent_sessions x set state = 'running', executor_id = mark_assigned.executor_id, updated_at = mark_assigned.now
                  where x.id = s.id returning * into s;
              end if;
            end if;
            return next s;
            return;
          end;`,
      }),
    );
    this.addSql(`create function session.lock_task(task_id uuid)
      returns table (session_row jsonb, turn_row jsonb)
      language plpgsql volatile security invoker set search_path = session, pg_temp
      as $fn$
      #variable_conflict use_column
      declare
        s session.agent_sessions;
        t session.agent_session_turns;
      begin
        select * into s from session.agent_sessions
          where id = (select u.session_id from session.agent_session_turns u where u.task_id = lock_task.task_id) for update;
        if not found then
          return;
        end if;
        select * into t from session.agent_session_turns u where u.task_id = lock_task.task_id for update;
        return query select to_jsonb(s), to_jsonb(t);
      end
      $fn$`);
  }
}
