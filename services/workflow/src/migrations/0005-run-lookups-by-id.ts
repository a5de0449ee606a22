import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * Finding a run by its id reads one index entry, whatever the table's statistics say.
 *
 * PL/pgSQL keeps a generic plan of each statement per connection, made while `workflow_runs` was small
 * and before autovacuum first analyzed it (a minute or more after a fresh start). In such plans every index
 * led by org_id looked as cheap as the primary key, and statements that find a run by id (the claim's lock,
 * the report's updates, ending a run) were served from the idempotency key's unique index on org_id alone,
 * filtering by id: each walked all of the org's runs, so every run cost more than the one before
 * (docs/benchmarks.md, Workflow runs).
 *
 * - The idempotency key's uniqueness becomes a partial unique index over the runs that have a key, which no
 *   statement without a key can use; `insert_run` names its predicate in ON CONFLICT.
 * - `report_progress` (0003) locks the run by id, then checks the lease. Its update by id, status and
 *   token was served from the partial index of active runs, walking the entries of every running run and
 *   of every run finished since the last vacuum. A report that finishes the run no longer extends the
 *   lease first: `finish_run` clears it, so the row gets one version fewer.
 */
export class RunLookupsById extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table workflow.workflow_runs drop constraint workflow_runs_org_id_workflow_id_trigger_idempotency_key_key');
    this.addSql(`create unique index workflow_runs_idempotency_key_idx on workflow.workflow_runs (org_id, workflow_id, trigger, idempotency_key)
      where idempotency_key is not null`);
    this.addSql('drop function workflow.insert_run(uuid, uuid, uuid, integer, jsonb, text, text, jsonb, text, uuid, uuid, integer, jsonb)');
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
                on conflict (org_id, workflow_id, trigger, idempotency_key) where idempotency_key is not null do nothing
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
    this.addSql('drop function workflow.report_progress(uuid, uuid, uuid, timestamptz, jsonb, jsonb, jsonb)');
    // Outcomes: null (no such run in this org), lease_lost (with the run's status, for the worker's
    // message), reported.
    this.addSql(
      tenantFunctionSql({
        name: 'workflow.report_progress',
        params: 'run_id uuid, lease_token uuid, lease_expires_at timestamptz, events jsonb, checkpoints jsonb, finish jsonb',
        returns: 'jsonb',
        body: `
          declare
            locked workflow.workflow_runs;
            reached bigint;
          begin
            select * into locked from workflow.workflow_runs r where r.id = report_progress.run_id for update;
            if not found then
              return null;
            end if;
            -- Only the lease's holder may write: another token, or a run no longer running, writes nothing.
            if locked.status <> 'running' or (locked.lease_token = report_progress.lease_token) is not true then
              return jsonb_build_object('outcome', 'lease_lost', 'status', locked.status);
            end if;
            if report_progress.finish is null then
              update workflow.workflow_runs r set lease_expires_at = report_progress.lease_expires_at where r.id = report_progress.run_id;
            end if;
            reached := workflow.append_run_events(locked.org_id, locked.id, locked.last_seq, report_progress.events);
            insert into workflow.workflow_run_nodes (org_id, run_id, node_id, status, output, attempt)
              select locked.org_id, locked.id, c ->> 'nodeId', c ->> 'status', c -> 'output', (c ->> 'attempt')::int
              from jsonb_array_elements(report_progress.checkpoints) as c
              on conflict on constraint workflow_run_nodes_pkey do nothing;
            if report_progress.finish is not null then
              reached := workflow.finish_run(locked.id, report_progress.finish);
            end if;
            return jsonb_build_object('outcome', 'reported', 'last_seq', reached, 'cancel_requested', locked.cancel_requested);
          end;`,
      }),
    );
  }
}
