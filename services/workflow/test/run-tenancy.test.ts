import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { createSqlPool, createTestDatabase, querySql, stopTestPostgres, withTenantSql, type TestDatabase } from '@foundation/db';
import { expectRpcError } from '@foundation/testing';
import { expect } from 'chai';
import type pg from 'pg';
import { workflowMigrations } from '../src/migrations/index.js';
import { RunLeases } from '../src/run-leases.js';
import { RunStore } from '../src/run-store.js';
import { WorkflowStore } from '../src/workflow-store.js';
import { manualRun, publishedTwoTransforms } from './workflow-fixtures.js';

after(stopTestPostgres);

const PAYLOAD_MAX_BYTES = 16_384;
const POLICY = { leaseMs: 60_000, orgMaxRunning: 100, maxClaims: 3, capacityRetryMs: 1_000, payloadMaxBytes: PAYLOAD_MAX_BYTES };

/**
 * A run's hot statements are tenant functions (migration 0004): StartRun's read and insert, the claim, the
 * progress report, and the reads of GetRun and WatchRun each see and change their own org's rows only.
 */
describe('Runs under row-level security', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let workflows: WorkflowStore;
  let runs: RunStore;
  let leases: RunLeases;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const user = randomUUID();
  let workflowId: string;

  const newRun = (idempotencyKey = '') => manualRun(workflowId, user, { idempotencyKey });
  const runIds = async (orgId: string) =>
    (await withTenantSql(pool, orgId, (tx) => tx.query<{ id: string }>('select id from workflow.workflow_runs order by id'))).map((r) => r.id);

  before(async () => {
    db = await createTestDatabase({ services: [workflowMigrations] });
    // One connection, so each call reuses the connection another org's call used just before.
    pool = createSqlPool(db.appUrl, 1);
    workflows = new WorkflowStore(pool);
    runs = new RunStore(pool, PAYLOAD_MAX_BYTES);
    leases = new RunLeases(pool, POLICY, () => 60_000);
    workflowId = await publishedTwoTransforms(workflows, orgA, user);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it("starts no run of another org's workflow: neither its read nor its insert finds the workflow", async () => {
    expect((await workflows.runnable(orgA, workflowId, 0)).version.version).to.equal(1);
    await expectRpcError(workflows.runnable(orgB, workflowId, 0), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(runs.insert(orgB, newRun()), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
    expect(await runIds(orgB)).to.deep.equal([]);
  });

  it("finds an idempotency key in the run's own org only", async () => {
    const first = await runs.insert(orgA, newRun('key-1'));
    expect(first.created).to.equal(true);
    const again = await runs.insert(orgA, newRun('key-1'));
    expect(again).to.deep.include({ created: false });
    expect(again.run.id).to.equal(first.run.id);
    // Another org's start with the same key gets no run back: not the first one, and none of its own.
    await expectRpcError(runs.insert(orgB, newRun('key-1')), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
    expect(await runIds(orgA)).to.include(first.run.id);
    expect(await runIds(orgB)).to.deep.equal([]);
  });

  it("reads, claims and reports another org's run as NOT_FOUND, changing nothing", async () => {
    const { run } = await runs.insert(orgA, newRun());
    await expectRpcError(runs.get(orgB, run.id), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(runs.events(orgB, run.id, 0, 100), Code.NotFound, 'NOT_FOUND');
    await expectRpcError(leases.claim(orgB, run.id, 'worker-b'), Code.NotFound, 'NOT_FOUND');
    expect(await runs.get(orgA, run.id)).to.include({ status: 'queued', attempt: 0, lastSeq: 1 });

    const claim = await leases.claim(orgA, run.id, 'worker-a');
    if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
    const event = { key: 'double:1', type: 'node.started', nodeId: 'double', attempt: 1 };
    await expectRpcError(leases.report(orgB, run.id, claim.leaseToken, { events: [event], checkpoints: [], finish: { status: 'succeeded' } }), Code.NotFound, 'NOT_FOUND');
    expect(await runs.get(orgA, run.id)).to.include({ status: 'running', attempt: 1, lastSeq: 2 });
    expect((await runs.events(orgA, run.id, 0, 100)).map((e) => e.type)).to.deep.equal(['run.queued', 'run.started']);

    await leases.report(orgA, run.id, claim.leaseToken, { events: [event], checkpoints: [], finish: { status: 'succeeded' } });
    expect((await runs.events(orgA, run.id, 0, 100)).map((e) => e.type)).to.deep.equal(['run.queued', 'run.started', 'node.started', 'run.succeeded']);
    expect(await runs.get(orgA, run.id)).to.include({ status: 'succeeded', lastSeq: 4 });
  });

  it('ends a run that must end once, in its own org only, as the verdict words it', async () => {
    const { run } = await runs.insert(orgA, newRun());
    await runs.requestCancel(orgA, run.id);
    // A queued run is cancelled at once by the request: the claims only find it finished.
    expect(await leases.claim(orgA, run.id, 'worker-a')).to.deep.equal({ outcome: 'finished' });
    const { run: running } = await runs.insert(orgA, newRun());
    const claim = await leases.claim(orgA, running.id, 'worker-a');
    expect(claim.outcome).to.equal('claimed');
    await runs.requestCancel(orgA, running.id);
    // The lease expires (the worker stalled); a claim by another org finds nothing, the org's own claim ends it once.
    await withTenantSql(pool, orgA, (tx) => tx.query("update workflow.workflow_runs set lease_expires_at = now() - interval '1 second' where id = $1", [running.id]));
    await expectRpcError(leases.claim(orgB, running.id, 'worker-b'), Code.NotFound, 'NOT_FOUND');
    expect((await runs.get(orgA, running.id)).status).to.equal('running');
    const [ending, late] = await Promise.all([leases.claim(orgA, running.id, 'worker-b'), leases.claim(orgA, running.id, 'worker-c')]);
    expect([ending, late].filter((c) => c.outcome === 'finished' && c.lastSeq !== undefined)).to.have.length(1);
    expect([ending, late].every((c) => c.outcome === 'finished')).to.equal(true);
    const ended = await runs.get(orgA, running.id);
    expect(ended).to.include({ status: 'cancelled' });
    expect(ended.error).to.deep.equal({ reason: 'CANCELLED', message: 'cancelled by a user', nodeId: '' });
    expect((await runs.events(orgA, running.id, 0, 100)).filter((e) => e.type === 'run.cancelled')).to.have.length(1);
  });

  it('leaves no org on the pooled connection after a call: outside a scope the app role sees no run', async () => {
    await runs.insert(orgA, newRun());
    expect(await querySql(pool, 'select id from workflow.workflow_runs')).to.deep.equal([]);
    expect(await querySql(pool, "select current_setting('app.org_id', true) as org")).to.deep.equal([{ org: '' }]);
  });
});
