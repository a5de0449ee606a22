import { Migration } from '@mikro-orm/migrations';

/**
 * The lease sweeper's dispatch pass asks what kinds of task are pending (org, engine, the node a task
 * names), so that it offers them only to the nodes that could take them instead of running a claim for
 * every connected node. Like `tasks_to_sweep`, a SECURITY DEFINER function returning only what the job
 * needs across orgs.
 */
export class PendingTaskKinds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function brain.pending_task_kinds()
      returns table (org_id uuid, engine text, requested_executor_id uuid)
      language sql stable security definer set search_path = brain, pg_temp
      as $$ select distinct t.org_id, t.engine, t.requested_executor_id from brain.tasks t where t.state = 'pending' $$`);
  }
}
