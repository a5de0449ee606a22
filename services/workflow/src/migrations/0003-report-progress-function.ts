import { Migration } from '@mikro-orm/migrations';
import { tenantFunctionSql } from '@foundation/db';

/**
 * A progress report as one call: `workflow.report_progress` extends the lease (which proves the token and
 * locks the run), appends the events, stores the checkpoints and, with a finish, ends the run. Sent from
 * the service, a report took up to four statements between `begin` and `commit`, each a round trip on the
 * hot path of every run; in a function it is one.
 *
 * Appending events and ending a run are functions of their own so that each is written once: the report
 * calls both, and the service calls `workflow.finish_run` where a claim, a cancellation or the reconciler
 * ends a run.
 *
 * The functions are SECURITY INVOKER, under row-level security: `report_progress` is a tenant function
 * (see `tenantFunctionSql`), called alone with the org it sets itself, one round trip; the other two run
 * inside it or inside the caller's tenant transaction. Payloads arrive bounded: the service measures them, since
 * its marker for an oversized payload (a preview cut between characters) is written in TypeScript.
 */
export class ReportProgressFunction extends Migration {
  override async up(): Promise<void> {
    // The caller holds the run locked, so seqs continue from last_seq without gaps and no other writer
    // interleaves. Events whose key is already stored are skipped, which makes a report sent twice harmless.
    this.addSql(`create function workflow.append_run_events(org_id uuid, run_id uuid, last_seq bigint, events jsonb)
      returns bigint
      language plpgsql volatile
      as $$
      declare
        appended bigint;
      begin
        insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
          select append_run_events.org_id, append_run_events.run_id, append_run_events.last_seq + f.n, f.event ->> 'type',
            f.event ->> 'nodeId', (f.event ->> 'attempt')::int, f.event -> 'payload', f.event ->> 'key', (f.event ->> 'time')::timestamptz
          from (
            -- Numbered after the stored keys are left out, so the new events' seqs have no gaps.
            select e.value as event, row_number() over (order by e.ord) as n
            from jsonb_array_elements(append_run_events.events) with ordinality as e(value, ord)
            where not exists (
              select 1 from workflow.workflow_run_events x
              where x.org_id = append_run_events.org_id and x.run_id = append_run_events.run_id and x.event_key = e.value ->> 'key')
          ) f;
        get diagnostics appended = row_count;
        if appended = 0 then
          return append_run_events.last_seq;
        end if;
        update workflow.workflow_runs r set last_seq = append_run_events.last_seq + appended where r.id = append_run_events.run_id;
        return append_run_events.last_seq + appended;
      end
      $$`);
    // outcome: {status, reason, message, nodeId, payload}, the error fields absent when the run succeeded.
    this.addSql(`create function workflow.finish_run(run_id uuid, outcome jsonb)
      returns bigint
      language plpgsql volatile
      as $$
      declare
        ended workflow.workflow_runs;
      begin
        update workflow.workflow_runs r set status = finish_run.outcome ->> 'status', error_reason = finish_run.outcome ->> 'reason',
            error_message = finish_run.outcome ->> 'message', error_node_id = nullif(finish_run.outcome ->> 'nodeId', ''), ended_at = now(),
            lease_token = null, lease_expires_at = null, last_seq = r.last_seq + 1
          where r.id = finish_run.run_id
          returning * into ended;
        -- A run ends once (callers hold it locked and check it has not), so the event's key cannot exist yet.
        insert into workflow.workflow_run_events (org_id, run_id, seq, type, node_id, attempt, payload, event_key, created_at)
          values (ended.org_id, ended.id, ended.last_seq, 'run.' || ended.status, '', 0, finish_run.outcome -> 'payload', 'run.' || ended.status, now());
        return ended.last_seq;
      end
      $$`);
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
            -- Only the lease's holder may write: another token, or a run no longer running, writes nothing.
            update workflow.workflow_runs r set lease_expires_at = report_progress.lease_expires_at
              where r.id = report_progress.run_id and r.status = 'running' and r.lease_token = report_progress.lease_token
              returning * into locked;
            if not found then
              select * into locked from workflow.workflow_runs r where r.id = report_progress.run_id;
              if not found then
                return null;
              end if;
              return jsonb_build_object('outcome', 'lease_lost', 'status', locked.status);
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
