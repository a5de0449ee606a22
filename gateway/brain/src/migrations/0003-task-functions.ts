import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * The task calls of every dispatch, each as a tenant function (see `tenantFunctionSql`): one round trip
 * to PostgreSQL instead of a tenant transaction's three or four, under the same row-level security.
 * TaskStore documents what each does; the statements are the ones its transactions ran.
 */
export class TaskFunctions extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      tenantFunctionSql({
        name: 'brain.insert_task',
        params: `id uuid, engine text, requested_executor_id uuid, workspace text, prompt text, resume_engine_session_id text,
          tool_bridge boolean, idle_timeout_ms bigint, wall_clock_timeout_ms bigint`,
        returns: 'setof brain.tasks',
        body: `
          return query
            insert into brain.tasks (id, org_id, engine, requested_executor_id, workspace, prompt, resume_engine_session_id, tool_bridge,
              idle_timeout_ms, wall_clock_timeout_ms, state, created_at)
            values (insert_task.id, insert_task.org_id, insert_task.engine, insert_task.requested_executor_id, insert_task.workspace,
              insert_task.prompt, insert_task.resume_engine_session_id, insert_task.tool_bridge, insert_task.idle_timeout_ms,
              insert_task.wall_clock_timeout_ms, 'pending', now())
            on conflict (id) do nothing returning *;
          if not found then
            return query select * from brain.tasks t where t.id = insert_task.id;
          end if;
          return;`,
      }),
    );
    // Two statements, as in claimFor's transaction: the claim counts the node's running tasks in a snapshot
    // taken after the executor's lock was granted.
    this.addSql(
      tenantFunctionSql({
        name: 'brain.claim_tasks',
        params: 'executor_id uuid, engines text[], capacity integer, lease_ms bigint',
        returns: 'setof brain.tasks',
        body: `
          perform 1 from brain.executors e where e.id = claim_tasks.executor_id and e.revoked_at is null for update;
          if not found then
            return;
          end if;
          return query
            with candidates as (
              select c.id from brain.tasks c
              where c.state = 'pending' and c.engine = any(claim_tasks.engines)
                and (c.requested_executor_id is null or c.requested_executor_id = claim_tasks.executor_id)
                and not (claim_tasks.executor_id = any(c.rejected_by))
              order by c.created_at, c.id
              limit greatest(claim_tasks.capacity - (select count(*) from brain.tasks r
                where r.assigned_executor_id = claim_tasks.executor_id and r.state = 'assigned'), 0)
              for update skip locked
            )
            update brain.tasks t set state = 'assigned', assigned_executor_id = claim_tasks.executor_id, lease_token = gen_random_uuid(),
              lease_expires_at = now() + claim_tasks.lease_ms * interval '1 millisecond'
            from candidates where t.id = candidates.id
            returning t.*;`,
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'brain.held_task',
        params: 'task_id uuid, executor_id uuid, lease_token uuid',
        returns: 'setof brain.tasks',
        body: `
          return query select * from brain.tasks t
            where t.id = held_task.task_id and t.state = 'assigned' and t.assigned_executor_id = held_task.executor_id
              and t.lease_token = held_task.lease_token;`,
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'brain.record_persisted',
        params: 'task_id uuid, executor_id uuid, lease_token uuid, persisted_seq bigint, completed boolean',
        returns: 'boolean',
        body: `
          update brain.tasks t set last_seq = greatest(t.last_seq, record_persisted.persisted_seq),
            state = case when record_persisted.completed then 'ended' else t.state end,
            ended_at = case when record_persisted.completed then now() else t.ended_at end
          where t.id = record_persisted.task_id and t.state = 'assigned' and t.assigned_executor_id = record_persisted.executor_id
            and t.lease_token = record_persisted.lease_token;
          return found;`,
      }),
    );
  }
}
