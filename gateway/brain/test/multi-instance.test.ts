import { Code } from '@connectrpc/connect';
import { buildTargets, parseTargets, readConfig, type RunningTargets } from '@foundation/cli';
import { createLogger } from '@foundation/kit';
import { expectRpcError, SimulatedNode, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, taskRequest, TEST_HEARTBEAT_MS, type BrainBench } from './brain-fixtures.js';

/**
 * Two brain instances on one database and one Redis: the platform (every target) and a second process
 * running only `brain`, reached over gRPC like another pod. Whatever one instance decides reaches the
 * streams the other holds.
 */
describe('Several brain instances', () => {
  let bench: BrainBench;
  let second: RunningTargets;
  let secondUrl: string;
  const nodes: SimulatedNode[] = [];
  before(async () => {
    bench = await startBrainBench();
    const { platform } = bench;
    const config = readConfig({
      FOUNDATION_PORT: '0',
      DATABASE_URL: platform.database.ownerUrl,
      FOUNDATION_DATABASE_APP_URL: platform.database.appUrl,
      FOUNDATION_REDIS_URL: platform.redis.url,
      FOUNDATION_MIGRATE_ON_START: 'false',
      FOUNDATION_SHUTDOWN_GRACE: '1s',
      FOUNDATION_AUTH_URL: platform.baseUrl,
      FOUNDATION_ORG_URL: platform.baseUrl,
      FOUNDATION_SECRETS_URL: platform.baseUrl,
      FOUNDATION_SESSION_URL: platform.baseUrl,
      FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: `${TEST_HEARTBEAT_MS}ms`,
      FOUNDATION_TASK_SWEEP_INTERVAL: '200ms',
    });
    const log = createLogger({ level: 'silent', target: 'brain-2' });
    second = await buildTargets(config, parseTargets('brain'), { databaseAppUrl: platform.database.appUrl, redisUrl: platform.redis.url, serviceKey: platform.serviceKey }, log);
    secondUrl = `http://127.0.0.1:${(await second.server.listen(0, '127.0.0.1')).port}`;
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.kill()));
    await bench.dropNodes();
    await withDatabase(bench.platform, 'superuser', (sql) => sql.query(`update brain.tasks set state = 'ended' where state <> 'ended'`));
  });
  after(async () => {
    await second?.close();
    await bench?.close();
  });

  /** A node of org A connected to the second instance. */
  const nodeOnSecond = async () => {
    const paired = await bench.pair();
    const node = new SimulatedNode({ baseUrl: secondUrl, credential: paired.credential, heartbeatEveryMs: 100 });
    nodes.push(node);
    await node.next('welcome');
    return { ...paired, node };
  };

  it('dispatches a task started on one instance to a node held by the other', async () => {
    const { executorId, node } = await nodeOnSecond();
    const request = taskRequest(bench.a.org.id);
    await bench.startTask(request);
    const { task } = await node.next('assignTask');
    expect(task!.taskId).to.equal(request.taskId);
    const { executor } = await bench.platform.grpc.executors.getExecutor({ executorId }, bench.asMember());
    expect(executor!.runningTasks).to.equal(1);
  });

  it('delivers a cancellation to the instance holding the task’s node', async () => {
    const { node } = await nodeOnSecond();
    const request = taskRequest(bench.a.org.id);
    await bench.startTask(request);
    await node.next('assignTask');
    await bench.cancelTask(bench.a.org.id, request.taskId);
    expect((await node.next('cancelTask')).taskId).to.equal(request.taskId);
  });

  it('cuts a revoked node’s stream on the other instance at once', async () => {
    const { executorId, node } = await nodeOnSecond();
    const asked = Date.now();
    await bench.platform.grpc.executors.revokeExecutor({ executorId }, bench.asAdmin());
    await expectRpcError(node.ended.then((e) => Promise.reject(e ?? new Error('ended cleanly'))), Code.Unauthenticated, 'NODE_REVOKED');
    expect(Date.now() - asked).to.be.below(1_000);
  });

  it('ends the older stream on the other instance when the node connects again', async () => {
    const { credential, node } = await nodeOnSecond();
    const again = bench.connect({ credential, heartbeatEveryMs: 100 });
    await again.next('welcome');
    const error = await node.ended;
    expect(error?.code).to.equal(Code.AlreadyExists);
  });
});
