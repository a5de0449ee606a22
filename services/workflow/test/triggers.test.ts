import { randomBytes } from 'node:crypto';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { buildTargets, parseTargets, readConfig, startRedisServer } from '@foundation/cli';
import { RunStatus, type Run, type Workflow } from '@foundation/contracts';
import { createLogger } from '@foundation/kit';
import { RUN_QUEUE_PREFIX } from '@foundation/run-queue';
import {
  clientsOver,
  expectRpcError,
  inOrg,
  orgWithRoles,
  startTestPlatform,
  type OrgWithRoles,
  type PlatformClients,
  type TestPlatform,
} from '@foundation/testing';
import type { NodeJson, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { Queue } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { parse as uuidParse } from 'uuid';
import { chainFrom, chainSpec, nodeOutput, publishedWorkflow, runToEnd, spec, transformNode, violatedFields } from './workflow-fixtures.js';

const HOOK: NodeJson = { id: 'hook', type: 'trigger.webhook' };

/** trigger.webhook → a transform that echoes `trigger.body.x` and the headers the run was given. */
const WEBHOOK_ECHO = chainFrom(HOOK, [transformNode('echo', '{ "x": trigger.body.x, "headers": trigger.headers }')]);

const MANUAL_ONLY = chainSpec([transformNode('echo', '"by hand"')]);

const schedule = (cron: string, timezone?: string): NodeJson => ({
  id: 'tick',
  type: 'trigger.schedule',
  config: { cron, ...(timezone === undefined ? {} : { timezone }) },
});

/** Fires every second (6-field cron, seconds first); `stamp` outputs when. */
const EVERY_SECOND = chainFrom(schedule('* * * * * *', 'Europe/Berlin'), [transformNode('stamp', '{ "fired": trigger.firedAt }')]);

/** A manual trigger and a schedule into the same transform, so a version without the schedule still publishes. */
const MANUAL_AND_EVERY_SECOND: WorkflowSpecJson = {
  nodes: [...MANUAL_ONLY.nodes, schedule('* * * * * *')],
  edges: [...MANUAL_ONLY.edges!, { from: 'tick', to: 'echo' }],
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 100 ms until it answers something, for at most `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('triggers', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
  });
  after(() => platform.close());

  const asAdmin = () => inOrg(tenant.admin, tenant.org.id);
  const asMember = () => inOrg(tenant.member, tenant.org.id);
  /** The BullMQ job scheduler of a schedule node, as the workflow service keeps it in Redis. */
  const schedulerOf = async (workflowId: string, nodeId: string) => {
    const connection = new Redis(platform.redis.url, { maxRetriesPerRequest: 1 });
    const queue = new Queue('workflow-schedules', { connection, prefix: RUN_QUEUE_PREFIX });
    try {
      return (await queue.getJobSchedulers()).find((s) => s.key === `${workflowId}:${nodeId}`);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };
  const runsOf = async (workflowId: string): Promise<Run[]> => (await platform.grpc.runs.listRuns({ workflowId, page: { pageSize: 200 } }, asMember())).runs;

  describe('trigger.webhook', () => {
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const res = await fetch(platform.baseUrl + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    it('gives a published workflow with a trigger.webhook node its own secret URL, and none to others', async () => {
      const first = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const second = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      for (const workflow of [first, second]) expect(workflow.webhookPath).to.match(/^\/v1\/webhooks\/whk_[A-Za-z0-9_-]{40,}$/);
      expect(first.webhookPath).to.not.equal(second.webhookPath);

      expect((await publishedWorkflow(platform.grpc, MANUAL_ONLY, asAdmin())).webhookPath).to.equal('');
      const draft = (await platform.grpc.workflows.createWorkflow({ name: 'draft hook', spec: spec(WEBHOOK_ECHO) }, asAdmin())).workflow!;
      expect(draft.webhookPath).to.equal('');
    });

    it('starts a run of the latest version with the JSON body as trigger.body and answers 202 with its id', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const x = `value-${randomBytes(4).toString('hex')}`;
      const { status, json } = await post(workflow.webhookPath, JSON.stringify({ x, other: [1, 2] }), {
        'x-github-event': 'push',
        'user-agent': 'GitHub-Hookshot/1',
        cookie: 'session=secret',
        authorization: 'Bearer secret',
      });
      expect(status).to.equal(202);
      expect(json).to.deep.equal({ runId: json['runId'], workflowId: workflow.id, workflowVersion: 1 });

      const run = await runToEnd(platform.grpc, String(json['runId']), asMember());
      expect(run).to.include({ workflowId: workflow.id, workflowVersion: 1, status: RunStatus.SUCCEEDED, trigger: 'webhook', triggerNodeId: 'hook', startedBy: '' });
      // Only the documented headers reach the run; cookies and credentials never do.
      expect(await nodeOutput(platform.grpc, run.id, 'echo', asMember())).to.deep.equal({
        x,
        headers: { 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/1', 'x-github-event': 'push' },
      });
    });

    it('starts one run for a repeated Idempotency-Key, and another for a new key', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const key = { 'idempotency-key': `delivery-${randomBytes(4).toString('hex')}` };
      const first = await post(workflow.webhookPath, '{"x":1}', key);
      const again = await post(workflow.webhookPath, '{"x":2}', key);
      expect([first.status, again.status]).to.deep.equal([202, 202]);
      expect(again.json['runId']).to.equal(first.json['runId']);
      const other = await post(workflow.webhookPath, '{"x":3}', { 'idempotency-key': 'another delivery' });
      expect(other.json['runId']).to.not.equal(first.json['runId']);
      expect((await runsOf(workflow.id)).map((r) => r.id).sort()).to.deep.equal([first.json['runId'], other.json['runId']].sort());
      await runToEnd(platform.grpc, String(first.json['runId']), asMember());
      expect(await nodeOutput(platform.grpc, String(first.json['runId']), 'echo', asMember())).to.include({ x: 1 });

      const tooLong = await post(workflow.webhookPath, '{"x":4}', { 'idempotency-key': 'k'.repeat(201) });
      expect({ status: tooLong.status, code: tooLong.json['code'] }).to.deep.equal({ status: 400, code: 'invalid_argument' });
      expect(await runsOf(workflow.id)).to.have.length(2);
    });

    it('answers 404 not_found for a URL no published workflow has', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const unknown = [
        // The right shape: an org id and 24 random bytes, for a random org and for this very org.
        `whk_${randomBytes(40).toString('base64url')}`,
        `whk_${Buffer.concat([Buffer.from(uuidParse(tenant.org.id)), randomBytes(24)]).toString('base64url')}`,
        // This workflow's token with its last character changed.
        `${workflow.webhookPath.slice('/v1/webhooks/'.length, -1)}${workflow.webhookPath.endsWith('A') ? 'B' : 'A'}`,
        'whk_nope',
        'nope',
        'whk_' + 'x'.repeat(300),
      ];
      for (const token of unknown) {
        const { status, json } = await post(`/v1/webhooks/${token}`, '{"x":1}');
        expect({ token, status, code: json['code'] }).to.deep.equal({ token, status: 404, code: 'not_found' });
      }
      expect(await runsOf(workflow.id)).to.deep.equal([]);
    });

    it('answers 400 invalid_argument for a body that is not JSON, starting nothing', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const { status, json } = await post(workflow.webhookPath, '{"x": oops');
      expect(status).to.equal(400);
      expect(json['code']).to.equal('invalid_argument');
      expect(await runsOf(workflow.id)).to.deep.equal([]);
    });

    it('answers 413 resource_exhausted for a body over FOUNDATION_WEBHOOK_MAX_BYTES, starting nothing', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const limit = 256 * 1024;
      const body = (size: number) => JSON.stringify({ x: 'y'.repeat(size - '{"x":""}'.length) });
      const { status, json } = await post(workflow.webhookPath, body(limit + 1));
      expect({ status, code: json['code'] }).to.deep.equal({ status: 413, code: 'resource_exhausted' });
      expect(await runsOf(workflow.id)).to.deep.equal([]);
      expect((await post(workflow.webhookPath, body(limit))).status).to.equal(202);
    });

    it('answers 404 once the workflow is archived', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      expect((await post(workflow.webhookPath, '{"x":1}')).status).to.equal(202);
      const { workflow: archived } = await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin());
      expect(archived!.webhookPath).to.equal('');
      const { status, json } = await post(workflow.webhookPath, '{"x":2}');
      expect({ status, code: json['code'] }).to.deep.equal({ status: 404, code: 'not_found' });
      expect(await runsOf(workflow.id)).to.have.length(1);
    });

    it('keeps the URL across a re-publish, runs the new version, and drops it when a version has no webhook', async () => {
      const workflow = await publishedWorkflow(platform.grpc, WEBHOOK_ECHO, asAdmin());
      const v2Spec = chainFrom(HOOK, [transformNode('echo', '"v2"')]);
      await platform.grpc.workflows.updateWorkflow({ workflowId: workflow.id, name: workflow.name, spec: spec(v2Spec) }, asAdmin());
      const { workflow: v2 } = await platform.grpc.workflows.publishWorkflow({ workflowId: workflow.id }, asAdmin());
      expect(v2).to.include({ latestVersion: 2, webhookPath: workflow.webhookPath });

      const { status, json } = await post(workflow.webhookPath, '{"x":1}');
      expect(status).to.equal(202);
      const run = await runToEnd(platform.grpc, String(json['runId']), asMember());
      expect(run).to.include({ workflowVersion: 2, status: RunStatus.SUCCEEDED });
      expect(await nodeOutput(platform.grpc, run.id, 'echo', asMember())).to.equal('v2');

      await platform.grpc.workflows.updateWorkflow({ workflowId: workflow.id, name: workflow.name, spec: spec(MANUAL_ONLY) }, asAdmin());
      const { workflow: v3 } = await platform.grpc.workflows.publishWorkflow({ workflowId: workflow.id }, asAdmin());
      expect(v3).to.include({ latestVersion: 3, webhookPath: '' });
      expect((await post(workflow.webhookPath, '{"x":1}')).status).to.equal(404);
    });
  });

  describe('trigger.schedule', () => {
    it('fires once published, every second, each firing a run of trigger "schedule" that succeeds', async () => {
      const created = (await platform.grpc.workflows.createWorkflow({ name: 'every second', spec: spec(EVERY_SECOND) }, asAdmin())).workflow!;
      await sleep(1_200);
      expect(await runsOf(created.id), 'a draft does not fire').to.deep.equal([]);

      await platform.grpc.workflows.publishWorkflow({ workflowId: created.id }, asAdmin());
      const runs = await eventually('two scheduled runs', async () => {
        const found = await runsOf(created.id);
        return found.length >= 2 ? found : undefined;
      });
      for (const run of runs) {
        expect(run).to.include({ trigger: 'schedule', triggerNodeId: 'tick', workflowVersion: 1, startedBy: '' });
        const ended = await runToEnd(platform.grpc, run.id, asMember());
        expect(ended.status, ended.error?.message).to.equal(RunStatus.SUCCEEDED);
        const output = (await nodeOutput(platform.grpc, run.id, 'stamp', asMember())) as { fired: string };
        expect(Date.parse(output.fired)).to.be.within(Date.now() - 15_000, Date.now());
      }
      expect(new Set(runs.map((r) => r.idempotencyKey)).size).to.equal(runs.length);
      await platform.grpc.workflows.archiveWorkflow({ workflowId: created.id }, asAdmin());
    });

    it('keeps the time zone: "0 3 * * *" in Europe/Berlin next fires at 03:00 Berlin time', async () => {
      const workflow = await publishedWorkflow(platform.grpc, chainFrom(schedule('0 3 * * *', 'Europe/Berlin'), [transformNode('stamp', '1')]), asAdmin());
      const scheduler = await schedulerOf(workflow.id, 'tick');
      expect(scheduler, 'the job scheduler of node tick').to.not.equal(undefined);
      expect(scheduler).to.include({ pattern: '0 3 * * *', tz: 'Europe/Berlin' });
      const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      expect(berlin.format(new Date(scheduler!.next!))).to.equal('03:00:00');
      expect(scheduler!.next! - Date.now()).to.be.within(0, 86_400_000);
      await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin());
      expect(await schedulerOf(workflow.id, 'tick')).to.equal(undefined);
    });

    /**
     * Waits for a first scheduled run, does `stop`, then checks the job scheduler is gone from Redis at
     * once (a stale firing would otherwise only be dropped when it fires) and no run starts for 2.5 s.
     */
    const expectStopsFiring = async (workflow: Workflow, stop: () => Promise<unknown>) => {
      await eventually('a first scheduled run', async () => ((await runsOf(workflow.id)).length > 0 ? true : undefined));
      expect(await schedulerOf(workflow.id, 'tick')).to.not.equal(undefined);
      await stop();
      expect(await schedulerOf(workflow.id, 'tick')).to.equal(undefined);
      // A firing already under way when `stop` returned may still finish starting its run.
      await sleep(300);
      const count = (await runsOf(workflow.id)).length;
      await sleep(2_500);
      expect((await runsOf(workflow.id)).length).to.equal(count);
    };

    it('stops firing when the workflow is archived', async () => {
      const workflow = await publishedWorkflow(platform.grpc, EVERY_SECOND, asAdmin());
      await expectStopsFiring(workflow, () => platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin()));
    });

    it('stops firing when a version without the schedule is published, which still runs by hand', async () => {
      const workflow = await publishedWorkflow(platform.grpc, MANUAL_AND_EVERY_SECOND, asAdmin());
      await expectStopsFiring(workflow, async () => {
        await platform.grpc.workflows.updateWorkflow({ workflowId: workflow.id, name: workflow.name, spec: spec(MANUAL_ONLY) }, asAdmin());
        await platform.grpc.workflows.publishWorkflow({ workflowId: workflow.id }, asAdmin());
      });
      const { run } = await platform.grpc.runs.startRun({ workflowId: workflow.id }, asMember());
      expect((await runToEnd(platform.grpc, run!.id, asMember())).status).to.equal(RunStatus.SUCCEEDED);
      await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin());
    });

    const invalid: [string, NodeJson, string][] = [
      ['a cron with a value out of range', schedule('61 * * * *'), 'spec.nodes[0].config.cron'],
      ['a cron with 4 fields', schedule('* * * *'), 'spec.nodes[0].config.cron'],
      ['a cron alias', schedule('@daily'), 'spec.nodes[0].config.cron'],
      ['an unknown time zone', schedule('0 3 * * *', 'Mars/Olympus_Mons'), 'spec.nodes[0].config.timezone'],
      ['a schedule without a cron', { id: 'tick', type: 'trigger.schedule', config: { timezone: 'UTC' } }, 'spec.nodes[0].config.cron'],
    ];
    for (const [what, node, field] of invalid) {
      it(`refuses ${what} with INVALID_ARGUMENT at ${field}`, async () => {
        const json = chainFrom(node, [transformNode('stamp', '1')]);
        const create = platform.grpc.workflows.createWorkflow({ name: 'bad schedule', spec: spec(json) }, asAdmin());
        const error = await expectRpcError(create, Code.InvalidArgument, 'INVALID_FIELD');
        expect(violatedFields(error)).to.deep.equal([field]);
      });
    }

    it('refuses a schedule in a workflow with a required input that has no default', async () => {
      const json: WorkflowSpecJson = { ...EVERY_SECOND, inputs: [{ name: 'n', type: 'number', required: true }] };
      const create = platform.grpc.workflows.createWorkflow({ name: 'needs input', spec: spec(json) }, asAdmin());
      const error = await expectRpcError(create, Code.InvalidArgument, 'INVALID_FIELD');
      expect(violatedFields(error)).to.deep.equal(['spec.nodes[0]']);
    });
  });
});

describe('trigger.schedule across a restart', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
  });
  // Closes the processes of the first start again (harmless) and stops Redis and PostgreSQL.
  after(() => platform.close());

  it('keep firing after every process stopped and started again on the same database and Redis', async () => {
    const asAdmin = inOrg(tenant.admin, tenant.org.id);
    const workflow = await publishedWorkflow(platform.grpc, EVERY_SECOND, asAdmin);
    const runsOf = async (clients: PlatformClients) => (await clients.runs.listRuns({ workflowId: workflow.id, page: { pageSize: 200 } }, asAdmin)).runs;
    await eventually('a first scheduled run', async () => ((await runsOf(platform.grpc)).length > 0 ? true : undefined));
    await platform.running.close();
    const stoppedAt = Date.now();
    await sleep(1_500);
    const restarted = await startProcessesAgain(platform);
    try {
      const runs = await eventually('two scheduled runs after the restart', async () => {
        const after = (await runsOf(restarted.grpc)).filter((r) => timestampMs(r.createTime!) > stoppedAt);
        return after.length >= 2 ? after : undefined;
      });
      for (const run of runs) {
        expect(run).to.include({ trigger: 'schedule', triggerNodeId: 'tick' });
        expect((await runToEnd(restarted.grpc, run.id, asAdmin)).status).to.equal(RunStatus.SUCCEEDED);
      }
      await restarted.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin);
    } finally {
      await restarted.close();
    }
  });
});

describe('trigger.schedule after Redis lost its data', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
  });
  after(() => platform.close());

  it('is registered again from PostgreSQL when the workflow service starts', async () => {
    const asAdmin = inOrg(tenant.admin, tenant.org.id);
    const workflow = await publishedWorkflow(platform.grpc, EVERY_SECOND, asAdmin);
    await platform.running.close();
    const redis = new Redis(platform.redis.url);
    await redis.flushall();
    redis.disconnect();
    const emptiedAt = Date.now();
    const restarted = await startProcessesAgain(platform);
    try {
      await eventually('a scheduled run after the restart', async () => {
        const { runs } = await restarted.grpc.runs.listRuns({ workflowId: workflow.id }, asAdmin);
        return runs.some((r) => timestampMs(r.createTime!) > emptiedAt) ? true : undefined;
      });
      await restarted.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin);
    } finally {
      await restarted.close();
    }
  });
});

describe('trigger.schedule kept in step with PostgreSQL while the service runs', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  before(async () => {
    platform = await startTestPlatform({ env: { FOUNDATION_SCHEDULE_RESYNC_INTERVAL: '1s' } });
    tenant = await orgWithRoles(platform.grpc);
  });
  after(() => platform.close());

  /** `work` with the platform's schedule queue, as BullMQ sees it in Redis. */
  const withScheduleQueue = async <T>(work: (queue: Queue) => Promise<T>): Promise<T> => {
    const connection = new Redis(platform.redis.url, { maxRetriesPerRequest: 1 });
    const queue = new Queue('workflow-schedules', { connection, prefix: RUN_QUEUE_PREFIX });
    try {
      return await work(queue);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };

  it('registers the schedules again after Redis lost its data', async () => {
    const asAdmin = inOrg(tenant.admin, tenant.org.id);
    const workflow = await publishedWorkflow(platform.grpc, EVERY_SECOND, asAdmin);
    const redis = new Redis(platform.redis.url);
    await redis.flushall();
    redis.disconnect();
    const emptiedAt = Date.now();
    await eventually('a scheduled run after Redis lost its data', async () => {
      const { runs } = await platform.grpc.runs.listRuns({ workflowId: workflow.id }, asAdmin);
      return runs.some((r) => r.trigger === 'schedule' && timestampMs(r.createTime!) > emptiedAt) ? true : undefined;
    });
    await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, asAdmin);
  });

  it('removes a schedule no published workflow has', async () => {
    const stray = `${randomBytes(16).toString('hex')}:tick`;
    await withScheduleQueue((queue) => queue.upsertJobScheduler(stray, { pattern: '0 3 * * *' }, { name: 'fire' }));
    await eventually('the stray schedule removed', () =>
      withScheduleQueue(async (queue) => ((await queue.getJobSchedulers()).some((s) => s.key === stray) ? undefined : true)),
    );
  });
});

describe('trigger.schedule while Redis is down', () => {
  let platform: TestPlatform;
  let tenant: OrgWithRoles;
  let asAdmin: ReturnType<typeof inOrg>;
  /** The Redis started again in the last test, if any; the platform's own stops with the platform. */
  let redisAgain: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  before(async () => {
    platform = await startTestPlatform();
    tenant = await orgWithRoles(platform.grpc);
    asAdmin = inOrg(tenant.admin, tenant.org.id);
  });
  afterEach(async () => {
    await redisAgain?.stop();
    redisAgain = undefined;
  });
  after(() => platform.close());

  const redisDown = async () => {
    await platform.redis.stop();
    await redisAgain?.stop();
  };
  // A Redis with no data on the same address, as after a restart without persistence.
  const redisBack = async () => (redisAgain = await startRedisServer({ port: platform.redis.port }));
  const scheduledRuns = async (workflowId: string) =>
    (await platform.grpc.runs.listRuns({ workflowId }, asAdmin)).runs.filter((r) => r.trigger === 'schedule');

  it('publishes, and registers the schedule once Redis is back', async () => {
    const { workflow } = await platform.grpc.workflows.createWorkflow({ name: 'every second', spec: spec(EVERY_SECOND) }, asAdmin);
    await redisDown();
    // PostgreSQL holds what is published; Redis only carries the schedule, which catches up later.
    const { version } = await platform.grpc.workflows.publishWorkflow({ workflowId: workflow!.id, expectedRevision: workflow!.revision }, asAdmin);
    expect(version!.version).to.equal(1);
    await sleep(500);
    await redisBack();
    const [run] = await eventually('a scheduled run after Redis came back', async () => {
      const runs = await scheduledRuns(workflow!.id);
      return runs.length > 0 ? runs : undefined;
    }, 20_000);
    expect((await runToEnd(platform.grpc, run!.id, asAdmin)).status).to.equal(RunStatus.SUCCEEDED);
    await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow!.id }, asAdmin);
  });

  it('registers nothing for a workflow published and then archived before Redis came back', async () => {
    const { workflow } = await platform.grpc.workflows.createWorkflow({ name: 'every second', spec: spec(EVERY_SECOND) }, asAdmin);
    await redisDown();
    await platform.grpc.workflows.publishWorkflow({ workflowId: workflow!.id }, asAdmin);
    await platform.grpc.workflows.archiveWorkflow({ workflowId: workflow!.id }, asAdmin);
    await redisBack();
    // Two retry intervals and more, then as long again for a wrongly registered schedule to fire.
    await sleep(6_000);
    expect(await scheduledRuns(workflow!.id)).to.deep.equal([]);
  });
});

/**
 * Starts every Foundation process of `platform` again, after `platform.running.close()`, on its PostgreSQL
 * and Redis, as a deploy does. The harness cannot (a platform's Redis is private and stops on close), so
 * this builds the targets as `startTestPlatform` does, with the platform's settings; the platform's own
 * `close` still stops Redis and drops the database.
 */
async function startProcessesAgain(platform: TestPlatform): Promise<{ grpc: PlatformClients; close(): Promise<void> }> {
  const config = readConfig({
    FOUNDATION_PORT: '0',
    DATABASE_URL: platform.database.ownerUrl,
    FOUNDATION_DATABASE_APP_URL: platform.database.appUrl,
    FOUNDATION_REDIS_URL: platform.redis.url,
    FOUNDATION_MIGRATE_ON_START: 'false',
    FOUNDATION_SHUTDOWN_GRACE: '2s',
    FOUNDATION_MASTER_KEY_FILE: platform.masterKeyFile!,
  });
  const log = createLogger({ level: 'info', target: 'test', destination: { write: () => undefined } });
  const infrastructure = { databaseAppUrl: platform.database.appUrl, redisUrl: platform.redis.url, serviceKey: platform.serviceKey };
  const running = await buildTargets(config, parseTargets('all'), infrastructure, log);
  const { port } = await running.server.listen(0, '127.0.0.1');
  return { grpc: clientsOver(createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` })), close: () => running.close() };
}
