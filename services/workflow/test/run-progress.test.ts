import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { ClaimOutcome, RunProgressService, RunStatus, type ReportProgressRequest, type ReportProgressRequestSchema } from '@foundation/contracts';
import { RunQueue } from '@foundation/run-queue';
import { expectRpcError, invalidFieldOf, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { chainSpec, eventTrail, listAllEvents, orphanedRun, runProgressAs, runToEnd, startLongRun, startRunBench, transformNode, type RunBench } from './workflow-fixtures.js';

/** A ReportProgress request as a plain object. */
type ReportInit = Exclude<MessageInitShape<typeof ReportProgressRequestSchema>, ReportProgressRequest>;

describe('RunProgressService', () => {
  let bench: RunBench;
  let queue: RunQueue;
  let progress: Awaited<ReturnType<typeof runProgressAs>>;
  before(async () => {
    bench = await startRunBench({ FOUNDATION_WORKER_CONCURRENCY: '1' });
    queue = new RunQueue(bench.platform.redis.url);
    await queue.connect();
    progress = await runProgressAs(bench.platform);
    // The platform's worker stays busy, so this test plays the worker of the runs it orphans.
    await startLongRun(bench);
  });
  after(async () => {
    await queue?.close();
    await bench?.close();
  });
  const orgId = () => bench.tenant.org.id;

  /** A run claimed by this test as worker "w1". */
  async function claimedRun() {
    const run = await orphanedRun(bench, queue, chainSpec([transformNode('one', '1')]));
    const claim = await progress.client.claimRun({ runId: run.id, orgId: orgId(), workerId: 'w1' }, progress.as);
    expect(claim.outcome).to.equal(ClaimOutcome.CLAIMED);
    return { runId: run.id, leaseToken: claim.leaseToken };
  }

  it('refuses user tokens and services other than execution (PERMISSION_DENIED, INTERNAL_ONLY)', async () => {
    const { runId, leaseToken } = await claimedRun();
    const client = createClient(RunProgressService, createGrpcTransport({ baseUrl: bench.platform.baseUrl }));
    const asOrgService = await runProgressAs(bench.platform, 'org');
    for (const options of [bench.asMember(), bench.asAdmin(), asOrgService.as]) {
      await expectRpcError(client.claimRun({ runId, orgId: orgId(), workerId: 'intruder' }, options), Code.PermissionDenied, 'INTERNAL_ONLY');
      await expectRpcError(
        client.reportProgress({ runId, orgId: orgId(), leaseToken, finish: { status: 'succeeded' } }, options),
        Code.PermissionDenied,
        'INTERNAL_ONLY',
      );
    }
    const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
    expect(run!.status).to.equal(RunStatus.RUNNING);
  });

  describe('ClaimRun()', () => {
    it('refuses a malformed claim and an unknown run', async () => {
      const claim = (runId: string, workerId: string, org = orgId()) => progress.client.claimRun({ runId, orgId: org, workerId }, progress.as);
      expect(invalidFieldOf(await expectRpcError(claim('nope', 'w1'), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('run_id');
      expect(invalidFieldOf(await expectRpcError(claim(uuidv7(), ''), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('worker_id');
      expect(invalidFieldOf(await expectRpcError(claim(uuidv7(), 'w1', 'nope'), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('org_id');
      await expectRpcError(claim(uuidv7(), 'w1'), Code.NotFound, 'NOT_FOUND');
      // A run is found only in its own organization's scope.
      const { runId } = await claimedRun();
      await expectRpcError(claim(runId, 'w1', uuidv7()), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('ReportProgress()', () => {
    const valid = { key: 'node.started:one:1', type: 'node.started', nodeId: 'one', attempt: 1, payloadJson: '{}' };

    it('refuses a malformed report, naming the field, and writes nothing of it', async () => {
      const { runId, leaseToken } = await claimedRun();
      const before = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      const report = (init: Partial<ReportInit>) => progress.client.reportProgress({ runId, orgId: orgId(), leaseToken, events: [valid], ...init }, progress.as);
      const cases: [Partial<ReportInit>, string][] = [
        [{ events: [valid, { ...valid, key: 'a', type: 'run.succeeded' }] }, 'events[1].type'],
        [{ events: [valid, { ...valid, key: '' }] }, 'events[1].key'],
        [{ events: [valid, { ...valid, key: 'k'.repeat(201) }] }, 'events[1].key'],
        [{ events: [valid, { ...valid, key: 'b', nodeId: '' }] }, 'events[1].node_id'],
        [{ events: [valid, { ...valid, key: 'c', payloadJson: 'not json' }] }, 'events[1].payload_json'],
        [{ events: [valid, { ...valid, key: 'd', payloadJson: '[1]' }] }, 'events[1].payload_json'],
        [{ checkpoints: [{ nodeId: 'one', status: 'failed', outputJson: '1', attempt: 1 }] }, 'checkpoints[0].status'],
        [{ checkpoints: [{ nodeId: 'one', status: 'succeeded', outputJson: '{', attempt: 1 }] }, 'checkpoints[0].output_json'],
        [{ checkpoints: [{ nodeId: '', status: 'succeeded', outputJson: '1', attempt: 1 }] }, 'checkpoints[0].node_id'],
        [{ finish: { status: 'exploded' } }, 'finish.status'],
        [{ finish: { status: 'failed' } }, 'finish.reason'],
        [{ leaseToken: 'not-a-token' }, 'lease_token'],
        [{ runId: 'nope' }, 'run_id'],
      ];
      for (const [init, field] of cases) {
        const error = await expectRpcError(report(init), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error), JSON.stringify(init)).to.equal(field);
      }
      expect(eventTrail(await listAllEvents(bench.platform.grpc, runId, bench.asMember()))).to.deep.equal(eventTrail(before));
      expect(await checkpointCount(runId)).to.equal(0);
      const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
      expect(run!.status).to.equal(RunStatus.RUNNING);

      // The lease was good all along: the same report, well formed, is stored.
      await report({});
      expect(eventTrail(await listAllEvents(bench.platform.grpc, runId, bench.asMember()))).to.deep.equal([...eventTrail(before), 'node.started:one']);
    });

    it('writes each event once when a report is sent again, and ends the run with its finish', async () => {
      const { runId, leaseToken } = await claimedRun();
      const request: ReportInit = {
        runId,
        orgId: orgId(),
        leaseToken,
        events: [valid, { key: 'node.succeeded:one:1', type: 'node.succeeded', nodeId: 'one', attempt: 1, payloadJson: '{"output":1}' }],
        checkpoints: [{ nodeId: 'one', status: 'succeeded', outputJson: '1', attempt: 1 }],
      };
      await progress.client.reportProgress(request, progress.as);
      await progress.client.reportProgress(request, progress.as);
      await progress.client.reportProgress({ ...request, finish: { status: 'succeeded' } }, progress.as);
      const ended = await runToEnd(bench.platform.grpc, runId, bench.asMember());
      expect(ended.status).to.equal(RunStatus.SUCCEEDED);
      const events = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      expect(eventTrail(events)).to.deep.equal(['run.queued', 'run.started', 'node.started:one', 'node.succeeded:one', 'run.succeeded']);
      expect(events.map((e) => Number(e.seq))).to.deep.equal([1, 2, 3, 4, 5]);
      expect(await checkpointCount(runId)).to.equal(1);

      // Ended: the worker's lease is gone, and a claim says so.
      await expectRpcError(progress.client.reportProgress(request, progress.as), Code.FailedPrecondition, 'LEASE_LOST');
      const again = await progress.client.claimRun({ runId, orgId: orgId(), workerId: 'w2' }, progress.as);
      expect(again.outcome).to.equal(ClaimOutcome.FINISHED);
    });

    it('tells the worker that a user asked to cancel the run', async () => {
      const { runId, leaseToken } = await claimedRun();
      const heartbeat = () => progress.client.reportProgress({ runId, orgId: orgId(), leaseToken }, progress.as);
      expect((await heartbeat()).cancelRequested).to.equal(false);
      const { run } = await bench.platform.grpc.runs.cancelRun({ runId }, bench.asMember());
      expect(run!.status).to.equal(RunStatus.RUNNING);
      expect((await heartbeat()).cancelRequested).to.equal(true);
      await progress.client.reportProgress({ runId, orgId: orgId(), leaseToken, finish: { status: 'cancelled', reason: 'CANCELLED' } }, progress.as);
      expect((await runToEnd(bench.platform.grpc, runId, bench.asMember())).status).to.equal(RunStatus.CANCELLED);
    });
  });

  async function checkpointCount(runId: string): Promise<number> {
    return withDatabase(bench.platform, 'superuser', async (db) => {
      const { rows } = await db.query('select count(*)::int as count from workflow.workflow_run_nodes where run_id = $1', [runId]);
      return rows[0].count as number;
    });
  }
});
