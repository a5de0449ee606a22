import { Migration } from '@mikro-orm/migrations';

/**
 * ListRuns filtered by a rare status reads the runs of that status, newest first, from an index. Without it,
 * listing failed or cancelled runs walked the org's runs newest first and filtered them: at 200,000 runs
 * with 0.2 % failed, a page of 50 failed runs read 25,000 rows (20 ms), and an org with fewer failures than a
 * page read them all.
 *
 * The index is partial, over the statuses a run rarely ends in: a run that succeeds never writes to it, and
 * a lookup by id cannot use it. (A full index on (org_id, status, id) cost about a tenth of the workflow
 * bench's throughput, and PL/pgSQL's generic plans took it for lookups by id.) Queued and running runs are
 * listed from the partial index of active runs; succeeded ones, most of the history, newest first.
 */
export class RunsByStatus extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index workflow_runs_org_ended_badly_idx on workflow.workflow_runs (org_id, status, id)
      where status in ('failed', 'cancelled')`);
  }
}
