import { randomUUID } from 'node:crypto';
import { createSqlPool, createTestDatabase, stopTestPostgres, withTenantSql, type SqlTransaction, type TestDatabase } from '@foundation/db';
import { expect } from 'chai';
import type pg from 'pg';
import { workflowMigrations } from '../src/migrations/index.js';
import { RunStore, type NewRun } from '../src/run-store.js';
import { WorkflowStore } from '../src/workflow-store.js';
import { TWO_TRANSFORMS } from './workflow-fixtures.js';

after(stopTestPostgres);

const ANY_SPEC = { problems: () => [], hasWebhookTrigger: () => false };

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
    const workflow = await workflows.create(orgId, user, { name: 'two transforms', description: '', spec: TWO_TRANSFORMS });
    await workflows.publish(orgId, user, workflow.id, 0, ANY_SPEC);
    const newRun: NewRun = {
      workflowId: workflow.id,
      workflowVersion: 1,
      inputs: { n: 1 },
      trigger: 'manual',
      triggerNodeId: 'start',
      triggerOutput: { n: 1 },
      idempotencyKey: '',
      startedBy: user,
      retryOf: '',
      timeBudgetMs: 60_000,
    };
    // Before migration 0005, from about this many runs on, the generic plans below walked the org's runs.
    for (let i = 0; i < 300; i++) runId = (await runs.insert(orgId, newRun)).run.id;
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
