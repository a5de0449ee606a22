import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * The statements of every run as tenant functions (see `tenantFunctionSql`): each one round trip to
 * PostgreSQL instead of a tenant transaction's three (begin and the org, the statement, commit), under the
 * same row-level security.
 *
 * - `claim_run` replaces migration 0002's function of that name, which ran inside the caller's tenant
 *   transaction: its body moves here unchanged but for the org, which it now takes first and sets itself.
 *   A claim's row lock now ends with the call, so a run that must end is ended by the service in a
 *   transaction of its own (RunLeases.claim). (`report_progress`, 0003, is a tenant function already.)
 * - `runnable` and `insert_run`: StartRun's read of the workflow with the version to run, and its insert of
 *   the run with its `run.queued` event (the idempotency key looked up first, and again after a start with
 *   the same key won the race).
 * - `read_run` and `read_run_events`: GetRun's and WatchRun's reads.
 *
 * `append_run_events` and `finish_run` (0003) run inside these functions, and `finish_run` inside the
 * service's tenant transactions.
 */
export class RunTenantFunctions extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop function workflow.claim_run(uuid, text, uuid, timestamptz, integer, integer, integer)');
    // Outcomes: null (no such run in this org), finished, lease_held, must_end (the service locks the run
    // again and ends it, worded as the reconciler words it), org_at_capacity, claimed.
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.claim_run',
        params: 'run_id uuid, worker_id text, lease_token uuid, now_at timestamptz, lease_ms integer, max_claims integer, org_max_running integer',
        returns: 'jsonb',
        body: `
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
            if locked.status = 'running' and locked.lease_expires_at > claim_run.now_at then
              return jsonb_build_object('outcome', 'lease_held', 'retry_after_ms', extract(epoch from locked.lease_expires_at - claim_run.now_at) * 1000);
            end if;
            -- The conditions of endVerdict (run-verdicts.ts), which words the outcome.
            if locked.cancel_requested or locked.deadline <= claim_run.now_at or locked.attempt >= claim_run.max_claims then
              return jsonb_build_object('outcome', 'must_end');
            end if;
            -- Serializes the count and the claim per org, so two workers cannot both take the last slot.
            perform pg_advisory_xact_lock(hashtext('workflow-runs:' || locked.org_id));
            select count(*) into running_count from workflow.workflow_runs r
              where r.status = 'running' and r.lease_expires_at > now() and r.id <> claim_run.run_id;
            if running_count >= claim_run.org_max_running then
              return jsonb_build_object('outcome', 'org_at_capacity');
            end if;
            select v.spec into version_spec from workflow.workflow_versions v
              where v.org_id = locked.org_id and v.workflow_id = locked.workflow_id and v.version = locked.workflow_version;
            -- Start, lease and deadline on one clock (the service's now_at): this call's own now() comes later,
            -- and a start after now_at would leave the run less than its budget between start and deadline.
            update workflow.workflow_runs r set status = 'running', attempt = r.attempt + 1, worker_id = claim_run.worker_id,
                lease_token = claim_run.lease_token, lease_expires_at = claim_run.now_at + claim_run.lease_ms * interval '1 millisecond',
                started_at = coalesce(r.started_at, claim_run.now_at),
                deadline = coalesce(r.deadline, claim_run.now_at + r.time_budget_ms * interval '1 millisecond'),
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
          end;`,
      }),
    );
    // {workflow, version}: the workflow (with has_unpublished_changes, as WorkflowStore reads it) and the
    // asked version (the latest for 0), null when there is no such version; null when there is no workflow.
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.runnable',
        params: 'workflow_id uuid, version integer',
        returns: 'jsonb',
        body: `
          return (
            select jsonb_build_object(
              'workflow', to_jsonb(w) || jsonb_build_object('has_unpublished_changes', v.spec is distinct from w.draft_spec),
              'version', to_jsonb(r))
            from workflow.workflows w
            left join workflow.workflow_versions v on v.org_id = w.org_id and v.workflow_id = w.id and v.version = w.latest_version
            left join workflow.workflow_versions r on r.org_id = w.org_id and r.workflow_id = w.id
              and r.version = (case when runnable.version = 0 then w.latest_version else runnable.version end)
            where w.id = runnable.workflow_id);`,
      }),
    );
    // {created, run}: the new queued run, or the run an earlier start with the same idempotency key made
    // (created false). Null when the workflow is no longer published: the share lock on its row means an
    // archive committing meanwhile either waits for the run or is seen here, never half of each.
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.insert_run',
        params: `id uuid, workflow_id uuid, workflow_version integer, inputs jsonb, trigger text, trigger_node_id text, trigger_output jsonb,
          idempotency_key text, started_by uuid, retry_of uuid, time_budget_ms integer, queued_payload jsonb`,
        returns: 'jsonb',
        body: `
          declare
            queued workflow.workflow_runs;
          begin
            -- Each pass sees what committed before it: a start with the same key that won the race is found
            -- by the next pass (unless it was removed again, when this one inserts).
            loop
              if insert_run.idempotency_key is not null then
                select * into queued from workflow.workflow_runs r
                  where r.workflow_id = insert_run.workflow_id and r.trigger = insert_run.trigger and r.idempotency_key = insert_run.idempotency_key;
                if found then
                  return jsonb_build_object('created', false, 'run', to_jsonb(queued));
                end if;
              end if;
              perform 1 from workflow.workflows w where w.id = insert_run.workflow_id and w.state = 'published' for share;
              if not found then
                return null;
              end if;
              insert into workflow.workflow_runs (id, org_id, workflow_id, workflow_version, status, inputs, trigger, trigger_node_id,
                  trigger_output, idempotency_key, started_by, retry_of, time_budget_ms, last_seq, created_at)
                values (insert_run.id, insert_run.org_id, insert_run.workflow_id, insert_run.workflow_version, 'queued', insert_run.inputs,
                  insert_run.trigger, insert_run.trigger_node_id, insert_run.trigger_output, insert_run.idempotency_key, insert_run.started_by,
                  insert_run.retry_of, insert_run.time_budget_ms, 1, now())
                on conflict (org_id, workflow_id, trigger, idempotency_key) do nothing
                returning * into queued;
              if found then
                insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
                  values (queued.org_id, queued.id, 1, 'run.queued', '', 0, insert_run.queued_payload, 'run.queued', queued.created_at);
                return jsonb_build_object('created', true, 'run', to_jsonb(queued));
              end if;
            end loop;
          end;`,
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.read_run',
        params: 'run_id uuid',
        returns: 'setof workflow.workflow_runs',
        body: 'return query select * from workflow.workflow_runs r where r.id = read_run.run_id;',
      }),
    );
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.read_run_events',
        params: 'run_id uuid, after_seq bigint, max_rows integer',
        returns: 'setof workflow.workflow_run_events',
        body: `
          return query select * from workflow.workflow_run_events e
            where e.run_id = read_run_events.run_id and e.seq > read_run_events.after_seq
            order by e.seq limit read_run_events.max_rows;`,
      }),
    );
  }
}
