import { randomUUID } from 'node:crypto';
import { createSqlPool, createTestDatabase, postgresUrl, stopTestPostgres, withSqlClient, type TestDatabase } from '@foundation/db';
import { expect } from 'chai';
import type pg from 'pg';
import { workflowMigrations } from '../src/migrations/index.js';
import { RunLeases } from '../src/run-leases.js';
import { RunStore, type NewRun } from '../src/run-store.js';
import { WorkflowStore } from '../src/workflow-store.js';
import { manualRun, publishedTwoTransforms } from './workflow-fixtures.js';

after(stopTestPostgres);

const POLICY = { leaseMs: 60_000, orgMaxRunning: 100, maxClaims: 3, capacityRetryMs: 1_000, payloadMaxBytes: 16_384 };
const STORED_BUDGET_MS = 90_000;
const SPEC_BUDGET_MS = 45_000;

/**
 * The first claim fixes a run's deadline: its start plus the time budget stored with the run at its start
 * (migration 0002), or, for a run queued before budgets were stored, the budget its version's spec gives.
 */
describe('The deadline a first claim sets', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let runs: RunStore;
  let leases: RunLeases;
  const orgId = randomUUID();
  const user = randomUUID();
  let newRun: NewRun;

  before(async () => {
    db = await createTestDatabase({ services: [workflowMigrations] });
    pool = createSqlPool(db.appUrl, 2);
    const workflows = new WorkflowStore(pool);
    runs = new RunStore(pool, POLICY.payloadMaxBytes);
    leases = new RunLeases(pool, POLICY, () => SPEC_BUDGET_MS);
    newRun = manualRun(await publishedTwoTransforms(workflows, orgId, user), user, { timeBudgetMs: STORED_BUDGET_MS });
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('is the start plus the budget stored with the run', async () => {
    const { run } = await runs.insert(orgId, newRun);
    const claim = await leases.claim(orgId, run.id, 'worker-1');
    expect(claim.outcome).to.equal('claimed');
    const stored = await runs.get(orgId, run.id);
    expect(stored.deadline!.getTime()).to.equal(stored.startedAt!.getTime() + STORED_BUDGET_MS);
    if (claim.outcome === 'claimed') expect(claim.run.deadline!.getTime()).to.equal(stored.deadline!.getTime());
  });

  it("is the claim's time plus the spec's budget for a run queued before budgets were stored", async () => {
    const { run } = await runs.insert(orgId, newRun);
    await withSqlClient(postgresUrl(db.superuserUrl, { database: db.database }), (client) =>
      client.query('update workflow.workflow_runs set time_budget_ms = null where id = $1', [run.id]),
    );
    const claimedAfter = Date.now();
    const claim = await leases.claim(orgId, run.id, 'worker-1');
    expect(claim.outcome).to.equal('claimed');
    const stored = await runs.get(orgId, run.id);
    expect(stored.deadline!.getTime()).to.be.within(claimedAfter + SPEC_BUDGET_MS, Date.now() + SPEC_BUDGET_MS);
    if (claim.outcome === 'claimed') expect(claim.run.deadline!.getTime()).to.equal(stored.deadline!.getTime());
  });
});
