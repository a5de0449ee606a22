import { randomUUID } from 'node:crypto';
import { createSqlPool, createTestDatabase, postgresUrl, querySql, stopTestPostgres, withSqlClient, withTenantSql, type SqlTransaction, type TestDatabase } from '@foundation/db';
import { expect } from 'chai';
import type pg from 'pg';
import { workflowMigrations } from '../src/migrations/index.js';
import { RunStore } from '../src/run-store.js';
import { WorkflowStore } from '../src/workflow-store.js';
import { manualRun, publishedTwoTransforms } from './workflow-fixtures.js';

after(stopTestPostgres);


/** A plan node as EXPLAIN (FORMAT JSON) prints it. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function scans(node: PlanNode): PlanNode[] {
  return [...(node['Node Type'].includes('Scan') ? [node] : []), ...(node.Plans ?? []).flatMap(scans)];
}

/**
 * PL/pgSQL keeps generic plans per connection, usually made on a young table that autovacuum has not yet
 * analyzed (migration 0005). The statements that find one run by id must then still look it up by id, not
 * walk the org's runs through another index led by org_id.
 */
describe('Run lookups by id before the table has statistics', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const orgId = randomUUID();
  const user = randomUUID();
  let runId: string;

  before(async () => {
    db = await createTestDatabase({ services: [workflowMigrations] });
    pool = createSqlPool(db.appUrl, 1);
    const workflows = new WorkflowStore(pool);
    const runs = new RunStore(pool, 16_384);
    const workflowId = await publishedTwoTransforms(workflows, orgId, user);
    // Before migration 0005, from about this many runs on, the generic plans below walked the org's runs.
    for (let i = 0; i < 300; i++) runId = (await runs.insert(orgId, manualRun(workflowId, user))).run.id;
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  /** The scans of `statement`'s generic plan, as PL/pgSQL would cache it, in the org's scope. */
  const genericPlanScans = (statement: string) =>
    withTenantSql(pool, orgId, async (tx: SqlTransaction) => {
      await tx.query('set local plan_cache_mode = force_generic_plan');
      await tx.query(`prepare lookup(uuid) as ${statement}`);
      try {
        const [row] = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) execute lookup('${runId}')`);
        return scans(row!['QUERY PLAN'][0].Plan);
      } finally {
        await tx.query('deallocate lookup');
      }
    });

  for (const [what, statement] of [
    ['locking a run (claim, report)', 'select * from workflow.workflow_runs r where r.id = $1 for update'],
    ['updating a run (events appended, run ended)', 'update workflow.workflow_runs r set last_seq = r.last_seq + 1 where r.id = $1'],
  ]) {
    it(`finds the run by its id when ${what}`, async () => {
      const [scan, ...others] = await genericPlanScans(statement!);
      expect(others, 'one scan').to.deep.equal([]);
      expect(scan!['Index Cond'], `${scan!['Node Type']} on ${scan!['Index Name']}`).to.match(/\bid = \$1\b/);
    });
  }
});

/** ListRuns with a status filter (migration 0006). */
describe('Listing runs of a rare status', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let runs: RunStore;
  const orgId = randomUUID();
  const user = randomUUID();

  before(async () => {
    db = await createTestDatabase({ services: [workflowMigrations] });
    // One connection, so the statistics flushed below are those of the listing's own backend.
    pool = createSqlPool(db.appUrl, 1);
    const workflows = new WorkflowStore(pool);
    runs = new RunStore(pool, 16_384);
    const workflowId = await publishedTwoTransforms(workflows, orgId, user);
    // 5,000 ended runs, 2 of them failed: written directly, as the org's history.
    await withSqlClient(postgresUrl(db.superuserUrl, { database: db.database }), async (client) => {
      await client.query(
        `insert into workflow.workflow_runs (id, org_id, workflow_id, workflow_version, status, inputs, trigger, trigger_node_id, trigger_output, created_at)
         select gen_random_uuid(), $1, $2, 1, case when g % 1700 = 0 then 'failed' else 'succeeded' end, '{}', 'manual', 'start', '{}', now()
         from generate_series(1, 5000) g`,
        [orgId, workflowId],
      );
      await client.query('analyze workflow.workflow_runs');
    });
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  /** Rows of workflow_runs read by scans so far, as the statistics count them once this backend flushed. */
  const rowsRead = async () => {
    await querySql(pool, 'select pg_stat_force_next_flush()');
    await querySql(pool, 'select 1');
    const [row] = await querySql<{ read: string }>(
      pool,
      `select coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) as read from pg_stat_user_tables where schemaname = 'workflow' and relname = 'workflow_runs'`,
    );
    return Number(row!.read);
  };

  it('reads the failed runs, not the org\'s history', async () => {
    const before = await rowsRead();
    const listed = await runs.list(orgId, { status: 'failed' }, { limit: 50 });
    const read = (await rowsRead()) - before;
    expect(listed.map((r) => r.status)).to.deep.equal(['failed', 'failed']);
    expect(read, 'rows read').to.be.below(50);
  });
});
