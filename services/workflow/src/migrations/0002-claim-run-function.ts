import { Migration } from '@mikro-orm/migrations';

/**
 * A claim as one call: `workflow.claim_run` locks the run, checks its lease, the org's capacity and
 * whether it must end instead, then takes the lease and appends `run.started`. Sent from the service, a
 * claim took four to six statements, each a round trip (a socket write and a wake-up on both sides) on
 * the hot path of every run; in a function it is one.
 *
 * The function is SECURITY INVOKER (the default): it runs in the caller's tenant transaction under
 * row-level security, so it sees and writes only that org's rows, as the statements it replaces did.
 *
 * Runs carry their time budget from their start (`time_budget_ms`, from the version's spec, which only
 * the service can read), so the claim can set the deadline without compiling the spec. Runs queued
 * before this migration have none; the service sets their deadline after the claim.
 */
export class ClaimRunFunction extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table workflow.workflow_runs add column time_budget_ms integer');
    // Outcomes: null (no such run in this org), finished, lease_held, must_end (the service decides how
    // it ends, as the reconciler does; the row stays locked), org_at_capacity, claimed.
    this.addSql(`create function workflow.claim_run(run_id uuid, worker_id text, lease_token uuid, now_at timestamptz,
        lease_ms integer, max_claims integer, org_max_running integer)
      returns jsonb
      language plpgsql volatile
      as $$
      declare
        locked workflow.workflow_runs;
        version_spec jsonb;
        running_count integer;
      begin
        select * into locked from workflow.workflow_runs r where r.id = claim_run.run_id for update;
        if not found then
          return null;
        end if;
        if locked.status in ('succeeded', 'failed', 'cancelled') then
          return jsonb_build_object('outcome', 'finished');
        end if;
        if locked.status = 'running' and locked.lease_expires_at > now_at then
          return jsonb_build_object('outcome', 'lease_held', 'retry_after_ms', extract(epoch from locked.lease_expires_at - now_at) * 1000);
        end if;
        -- The conditions of endVerdict (run-verdicts.ts), which words the outcome.
        if locked.cancel_requested or locked.deadline <= now_at or locked.attempt >= max_claims then
          return jsonb_build_object('outcome', 'must_end', 'run', to_jsonb(locked));
        end if;
        -- Serializes the count and the claim per org, so two workers cannot both take the last slot.
        perform pg_advisory_xact_lock(hashtext('workflow-runs:' || locked.org_id));
        select count(*) into running_count from workflow.workflow_runs r
          where r.status = 'running' and r.lease_expires_at > now() and r.id <> claim_run.run_id;
        if running_count >= org_max_running then
          return jsonb_build_object('outcome', 'org_at_capacity');
        end if;
        select v.spec into version_spec from workflow.workflow_versions v
          where v.org_id = locked.org_id and v.workflow_id = locked.workflow_id and v.version = locked.workflow_version;
        update workflow.workflow_runs r set status = 'running', attempt = r.attempt + 1, worker_id = claim_run.worker_id,
            lease_token = claim_run.lease_token, lease_expires_at = now_at + lease_ms * interval '1 millisecond',
            started_at = coalesce(r.started_at, now()), deadline = coalesce(r.deadline, now_at + r.time_budget_ms * interval '1 millisecond'),
            last_seq = r.last_seq + 1
          where r.id = claim_run.run_id
          returning * into locked;
        -- The key holds the claim's number, new under the lock: each claim writes its run.started once.
        insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
          values (locked.org_id, locked.id, locked.last_seq, 'run.started', '', 0,
            jsonb_build_object('attempt', locked.attempt, 'resumed', locked.attempt > 1), 'run.started:' || locked.attempt, now());
        return jsonb_build_object('outcome', 'claimed', 'run', to_jsonb(locked), 'spec', version_spec,
          -- A first claim has nothing to resume from.
          'checkpoints', case when locked.attempt = 1 then '[]'::jsonb else coalesce((
            select jsonb_agg(jsonb_build_object('nodeId', n.node_id, 'status', n.status, 'output', n.output, 'attempt', n.attempt))
            from workflow.workflow_run_nodes n where n.run_id = claim_run.run_id), '[]'::jsonb) end,
          'node_attempts', case when locked.attempt = 1 then '{}'::jsonb else coalesce((
            select jsonb_object_agg(a.node_id, a.attempt) from (
              select e.node_id, max(e.attempt) as attempt from workflow.workflow_run_events e
              where e.run_id = claim_run.run_id and e.node_id <> '' group by e.node_id) a), '{}'::jsonb) end);
      end
      $$`);
  }
}
