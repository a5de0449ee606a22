import { Migration } from '@mikro-orm/migrations';
import { tenantRlsSql } from '@foundation/db';

/**
 * The brain's registry: paired nodes (executors), the pairing codes that admit them, and the agent tasks
 * handed to them, all under row-level security by org.
 *
 * Three lookups happen before any org is known, so they cannot run in a tenant scope: redeeming a pairing
 * code (the code is the only thing the node has), authenticating a node's credential on Connect, and the
 * lease sweeper finding tasks of every org whose lease lapsed. Each is a SECURITY DEFINER function owned by
 * the schema owner, with a SELECT policy for the owner role only, that returns just the ids the job needs;
 * the brain then does the work inside that org's tenant scope. The app role gains no cross-org read.
 */
export class InitialBrainSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table brain.executors (
      id uuid primary key,
      org_id uuid not null,
      name text not null,
      facts jsonb not null,
      engines jsonb not null default '[]',
      capacity integer not null default 1 check (capacity between 1 and 64),
      credential_hash text not null unique,
      paired_at timestamptz not null,
      revoked_at timestamptz,
      last_seen_at timestamptz,
      connection_id uuid,
      connected_instance text
    )`);
    this.addSql('create index executors_org_idx on brain.executors (org_id, id)');
    this.addSql(`create table brain.pairing_codes (
      code_hash text primary key,
      org_id uuid not null,
      label text not null,
      created_by uuid not null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz,
      executor_id uuid references brain.executors (id)
    )`);
    this.addSql('create index pairing_codes_org_idx on brain.pairing_codes (org_id, created_at)');
    this.addSql(`create table brain.tasks (
      id uuid primary key,
      org_id uuid not null,
      engine text not null,
      requested_executor_id uuid references brain.executors (id),
      assigned_executor_id uuid references brain.executors (id),
      rejected_by uuid[] not null default '{}',
      workspace text not null,
      prompt text not null,
      resume_engine_session_id text not null,
      tool_bridge boolean not null,
      idle_timeout_ms bigint not null,
      wall_clock_timeout_ms bigint not null,
      state text not null check (state in ('pending', 'assigned', 'closing', 'ended')),
      lease_token uuid,
      lease_expires_at timestamptz,
      last_seq bigint not null default 0,
      closing_status text check (closing_status in ('failed', 'cancelled')),
      closing_reason text,
      created_at timestamptz not null,
      assigned_at timestamptz,
      ended_at timestamptz
    )`);
    this.addSql('create index tasks_org_idx on brain.tasks (org_id, id)');
    this.addSql(`create index tasks_pending_idx on brain.tasks (org_id, created_at, id) where state = 'pending'`);
    this.addSql(`create index tasks_assigned_idx on brain.tasks (org_id, assigned_executor_id) where state = 'assigned'`);
    this.addSql(`create index tasks_sweep_idx on brain.tasks (lease_expires_at) where state in ('assigned', 'closing')`);
    for (const table of ['executors', 'pairing_codes', 'tasks']) {
      for (const statement of tenantRlsSql('brain', table)) this.addSql(statement);
    }
    this.addSql('create policy pairing_lookup_read on brain.pairing_codes for select to current_user using (true)');
    this.addSql('create policy credential_lookup_read on brain.executors for select to current_user using (true)');
    this.addSql('create policy sweeper_read on brain.tasks for select to current_user using (true)');
    this.addSql(`create function brain.pairing_code_org(code_hash text)
      returns uuid
      language sql stable security definer set search_path = brain, pg_temp
      as $$ select p.org_id from brain.pairing_codes p where p.code_hash = pairing_code_org.code_hash $$`);
    this.addSql(`create function brain.executor_by_credential(credential_hash text)
      returns table (id uuid, org_id uuid, revoked boolean)
      language sql stable security definer set search_path = brain, pg_temp
      as $$
        select e.id, e.org_id, e.revoked_at is not null from brain.executors e
        where e.credential_hash = executor_by_credential.credential_hash
      $$`);
    this.addSql(`create function brain.tasks_to_sweep(max_rows integer)
      returns table (id uuid, org_id uuid)
      language sql stable security definer set search_path = brain, pg_temp
      as $$
        select t.id, t.org_id from brain.tasks t
        where (t.state = 'assigned' and t.lease_expires_at < now()) or t.state = 'closing'
        order by t.lease_expires_at nulls first
        limit max_rows
      $$`);
  }
}
