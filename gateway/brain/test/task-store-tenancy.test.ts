import { randomUUID } from 'node:crypto';
import { createSqlPool, createTestDatabase, querySql, stopTestPostgres, withTenantSql, type TestDatabase } from '@foundation/db';
import { expect } from 'chai';
import type pg from 'pg';
import { brainMigrations } from '../src/migrations/index.js';
import { ExecutorStore } from '../src/executor-store.js';
import { TaskStore, type TaskSpec } from '../src/task-store.js';

after(stopTestPostgres);

const ENGINE = 'gateway.claude.v2';
const LEASE_MS = 60_000;

const spec = (): TaskSpec => ({
  taskId: randomUUID(),
  engine: ENGINE,
  workspace: 'repo',
  prompt: 'fix the tests',
  resumeEngineSessionId: '',
  toolBridge: false,
  idleTimeoutMs: 60_000,
  wallClockTimeoutMs: 600_000,
});

/** The task calls of a dispatch are tenant functions (migration 0003): each sees and changes its own org's rows only. */
describe('TaskStore under row-level security', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: TaskStore;
  const orgA = randomUUID();
  const orgB = randomUUID();
  let nodeA: string;
  let nodeB: string;

  const addExecutor = async (orgId: string) => {
    const id = randomUUID();
    await withTenantSql(pool, orgId, (tx) =>
      tx.query(`insert into brain.executors (id, org_id, name, facts, credential_hash, paired_at) values ($1, $2, 'node', '{}', $3, now())`, [
        id,
        orgId,
        randomUUID(),
      ]),
    );
    return id;
  };

  before(async () => {
    db = await createTestDatabase({ services: [brainMigrations] });
    // One connection, so each call reuses the connection another org's call used just before.
    pool = createSqlPool(db.appUrl, 1);
    store = new TaskStore(pool);
    nodeA = await addExecutor(orgA);
    nodeB = await addExecutor(orgB);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it("hides a task id of another org from insert: the id is taken, and the other org's task is unchanged", async () => {
    const task = spec();
    expect((await store.insert(orgA, task))?.state).to.equal('pending');
    expect(await store.insert(orgB, { ...task, prompt: 'something else' })).to.equal(undefined);
    expect((await store.read(orgA, task.taskId))?.prompt).to.equal('fix the tests');
    expect((await store.insert(orgA, task))?.taskId).to.equal(task.taskId);
  });

  it("claims only the org's own tasks, and nothing for another org's node", async () => {
    const task = spec();
    await store.insert(orgA, task);
    expect(await store.claimFor(orgB, nodeA, [ENGINE], 64, LEASE_MS)).to.deep.equal([]);
    expect(await store.claimFor(orgB, nodeB, [ENGINE], 64, LEASE_MS)).to.deep.equal([]);
    const claimed = await store.claimFor(orgA, nodeA, [ENGINE], 64, LEASE_MS);
    expect(claimed.map((t) => t.taskId)).to.include(task.taskId);
    expect(claimed.every((t) => t.orgId === orgA && t.state === 'assigned' && t.leaseToken !== undefined)).to.equal(true);
  });

  it("checks and records a lease in the task's org only", async () => {
    const task = spec();
    await store.insert(orgA, task);
    const claimed = (await store.claimFor(orgA, nodeA, [ENGINE], 64, LEASE_MS)).find((t) => t.taskId === task.taskId)!;
    const lease = { taskId: task.taskId, leaseToken: claimed.leaseToken! };
    expect(await store.held(orgB, nodeA, lease)).to.equal(undefined);
    expect(await store.recordPersisted(orgB, nodeA, lease, 5, true)).to.equal(false);
    expect(await store.read(orgA, task.taskId)).to.include({ state: 'assigned', lastSeq: 0 });
    expect((await store.held(orgA, nodeA, lease))?.taskId).to.equal(task.taskId);
    expect(await store.held(orgA, nodeA, { ...lease, leaseToken: randomUUID() })).to.equal(undefined);
    expect(await store.recordPersisted(orgA, nodeA, lease, 1, false)).to.equal(true);
    expect(await store.read(orgA, task.taskId)).to.include({ state: 'assigned', lastSeq: 1 });
    expect(await store.recordPersisted(orgA, nodeA, lease, 2, true)).to.equal(true);
    expect(await store.read(orgA, task.taskId)).to.include({ state: 'ended', lastSeq: 2 });
    expect(await store.held(orgA, nodeA, lease)).to.equal(undefined);
  });

  it("records a heartbeat in the node's org only", async () => {
    const executors = new ExecutorStore(pool, 30_000);
    const connectionId = randomUUID();
    await withTenantSql(pool, orgA, (tx) => tx.query('update brain.executors set connection_id = $1 where id = $2', [connectionId, nodeA]));
    const seen = () => withTenantSql(pool, orgA, async (tx) => (await tx.query('select last_seen_at from brain.executors where id = $1', [nodeA]))[0]!['last_seen_at']);
    const before = await seen();
    expect(await executors.recordSeen(orgB, nodeA, connectionId)).to.equal('revoked');
    expect(await seen()).to.deep.equal(before);
    expect(await executors.recordSeen(orgA, nodeA, randomUUID())).to.equal('replaced');
    expect(await executors.recordSeen(orgA, nodeA, connectionId)).to.equal('held');
    expect(await seen()).to.not.deep.equal(before);
  });

  it('leaves no org on the pooled connection after a call: outside a scope the app role sees no task', async () => {
    await store.insert(orgA, spec());
    expect(await querySql(pool, 'select id from brain.tasks')).to.deep.equal([]);
  });
});
