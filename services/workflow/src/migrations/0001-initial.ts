import { Migration } from '@mikro-orm/migrations';
import { tenantRlsSql } from '@foundation/db';

/**
 * Workflows, their published versions, runs, run events and node checkpoints, all under row-level
 * security by org.
 *
 * Two exceptions, for work no request names an org for: the reconciler must find stuck runs of every org,
 * and a starting workflow service re-registers every published schedule (Redis may have lost them). Each
 * is a SECURITY DEFINER function owned by the schema owner, with SELECT policies for the owner role only,
 * that returns what the job needs (run ids and states; the specs of scheduled workflows); the service then
 * acts on each run or workflow inside its tenant scope. The app role services run as gains no cross-org read.
 */
export class InitialWorkflowSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table workflow.workflows (
      id uuid primary key,
      org_id uuid not null,
      name text not null,
      description text not null,
      state text not null check (state in ('draft', 'published', 'archived')),
      draft_spec jsonb not null,
      revision integer not null check (revision >= 1),
      latest_version integer not null default 0,
      webhook_token text unique,
      created_at timestamptz not null,
      created_by uuid not null,
      updated_at timestamptz not null,
      updated_by uuid not null
    )`);
    this.addSql('create index workflows_org_idx on workflow.workflows (org_id, id)');
    this.addSql(`create table workflow.workflow_versions (
      org_id uuid not null,
      workflow_id uuid not null references workflow.workflows (id),
      version integer not null check (version >= 1),
      spec jsonb not null,
      published_at timestamptz not null,
      published_by uuid not null,
      primary key (org_id, workflow_id, version)
    )`);
    this.addSql(`create table workflow.workflow_runs (
      id uuid primary key,
      org_id uuid not null,
      workflow_id uuid not null references workflow.workflows (id),
      workflow_version integer not null,
      status text not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      inputs jsonb not null,
      trigger text not null check (trigger in ('manual', 'webhook', 'schedule', 'retry')),
      trigger_node_id text not null,
      trigger_output jsonb not null,
      idempotency_key text,
      started_by uuid,
      retry_of uuid,
      attempt integer not null default 0,
      worker_id text,
      lease_token uuid,
      lease_expires_at timestamptz,
      cancel_requested boolean not null default false,
      last_seq bigint not null default 0,
      deadline timestamptz,
      error_reason text,
      error_message text,
      error_node_id text,
      created_at timestamptz not null,
      started_at timestamptz,
      ended_at timestamptz,
      unique (org_id, workflow_id, trigger, idempotency_key)
    )`);
    this.addSql('create index workflow_runs_org_idx on workflow.workflow_runs (org_id, id)');
    this.addSql('create index workflow_runs_org_workflow_idx on workflow.workflow_runs (org_id, workflow_id, id)');
    this.addSql(`create index workflow_runs_active_idx on workflow.workflow_runs (status, org_id)
      where status in ('queued', 'running')`);
    this.addSql(`create table workflow.workflow_run_events (
      org_id uuid not null,
      run_id uuid not null references workflow.workflow_runs (id) on delete cascade,
      seq bigint not null check (seq >= 1),
      type text not null,
      node_id text not null default '',
      attempt integer not null default 0,
      payload jsonb not null,
      event_key text not null,
      created_at timestamptz not null,
      primary key (org_id, run_id, seq),
      unique (org_id, run_id, event_key)
    )`);
    this.addSql(`create table workflow.workflow_run_nodes (
      org_id uuid not null,
      run_id uuid not null references workflow.workflow_runs (id) on delete cascade,
      node_id text not null,
      status text not null check (status in ('succeeded', 'skipped')),
      output jsonb not null,
      attempt integer not null,
      primary key (org_id, run_id, node_id)
    )`);
    for (const table of ['workflows', 'workflow_versions', 'workflow_runs', 'workflow_run_events', 'workflow_run_nodes']) {
      for (const statement of tenantRlsSql('workflow', table)) this.addSql(statement);
    }
    this.addSql('create policy reconciler_read on workflow.workflow_runs for select to current_user using (true)');
    this.addSql('create policy schedule_restore_read on workflow.workflows for select to current_user using (true)');
    this.addSql('create policy schedule_restore_read on workflow.workflow_versions for select to current_user using (true)');
    this.addSql(`create function workflow.scheduled_workflows()
      returns table (org_id uuid, workflow_id uuid, spec jsonb)
      language sql stable security definer set search_path = workflow, pg_temp
      as $$
        select w.org_id, w.id, v.spec from workflow.workflows w
        join workflow.workflow_versions v on v.org_id = w.org_id and v.workflow_id = w.id and v.version = w.latest_version
        where w.state = 'published'
          and exists (select 1 from jsonb_array_elements(v.spec -> 'nodes') n where n ->> 'type' = 'trigger.schedule')
        order by w.id
      $$`);
    this.addSql(`create function workflow.runs_to_reconcile(queued_before timestamptz, lease_expired_before timestamptz, max_rows integer)
      returns table (id uuid, org_id uuid, status text)
      language sql stable security definer set search_path = workflow, pg_temp
      as $$
        select r.id, r.org_id, r.status from workflow.workflow_runs r
        where (r.status = 'queued' and r.created_at < queued_before)
           or (r.status = 'running' and (r.lease_expires_at < lease_expired_before or r.deadline < now()))
        order by r.id
        limit max_rows
      $$`);
  }
}
