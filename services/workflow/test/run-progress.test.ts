import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { ClaimOutcome, RunProgressService, RunStatus, type ReportProgressRequest, type ReportProgressRequestSchema } from '@foundation/contracts';
import { RunQueue } from '@foundation/run-queue';
import { expectRpcError, invalidFieldOf, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { chainSpec, eventOf, eventTrail, listAllEvents, orphanedRun, runProgressAs, runToEnd, startLongRun, startRunBench, transformNode, type RunBench } from './workflow-fixtures.js';

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
    it('stores the events, the checkpoints and the finish of one report together', async () => {
      const { runId, leaseToken } = await claimedRun();
      const before = Date.now();
      const response = await progress.client.reportProgress(
        {
          runId,
          orgId: orgId(),
          leaseToken,
          events: [valid, { key: 'node.failed:one:1', type: 'node.failed', nodeId: 'one', attempt: 1, payloadJson: '{"reason":"BOOM"}' }],
          checkpoints: [{ nodeId: 'zero', status: 'skipped', outputJson: 'null', attempt: 0 }],
          finish: { status: 'failed', reason: 'BOOM', message: 'it blew up', nodeId: 'one' },
        },
        progress.as,
      );
      // A finished run has no lease left: it expires now.
      expect(timestampMs(response.leaseExpireTime!)).to.be.within(before, Date.now());

      const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
      expect(run!.status).to.equal(RunStatus.FAILED);
      expect(run!.error).to.include({ reason: 'BOOM', message: 'it blew up', nodeId: 'one' });
      expect(run!.endTime).not.to.equal(undefined);
      const events = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      expect(eventTrail(events)).to.deep.equal(['run.queued', 'run.started', 'node.started:one', 'node.failed:one', 'run.failed']);
      expect(events.map((e) => Number(e.seq))).to.deep.equal([1, 2, 3, 4, 5]);
      expect(eventOf(events, 'run.failed').payload).to.deep.equal({ reason: 'BOOM', message: 'it blew up', nodeId: 'one' });
      expect(await checkpointCount(runId)).to.equal(1);
      expect(await leaseOf(runId)).to.deep.equal({ token: null, expiresAt: null });
    });

    it('numbers the new events of a report that repeats some keys from the last seq, without gaps', async () => {
      const { runId, leaseToken } = await claimedRun();
      const event = (key: string) => ({ key, type: 'node.log', nodeId: 'one', attempt: 1, payloadJson: JSON.stringify({ line: key }) });
      const report = (keys: string[]) => progress.client.reportProgress({ runId, orgId: orgId(), leaseToken, events: keys.map(event) }, progress.as);
      await report(['a', 'b']);
      await report(['b', 'c', 'c', 'a', 'd']);
      const events = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      expect(events.slice(2).map((e) => [Number(e.seq), e.payload!['line']])).to.deep.equal([
        [3, 'a'],
        [4, 'b'],
        [5, 'c'],
        [6, 'd'],
      ]);
      // The run's last seq moved with them: its end takes the next one.
      await progress.client.reportProgress({ runId, orgId: orgId(), leaseToken, finish: { status: 'succeeded' } }, progress.as);
      expect(eventOf(await listAllEvents(bench.platform.grpc, runId, bench.asMember()), 'run.succeeded').seq).to.equal(7n);
    });

    it('extends the lease with every report, to the expiry it answers', async () => {
      const { runId, leaseToken } = await claimedRun();
      const claimed = await leaseOf(runId);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const response = await progress.client.reportProgress({ runId, orgId: orgId(), leaseToken }, progress.as);
      const extended = await leaseOf(runId);
      expect(extended.token).to.equal(leaseToken);
      expect(extended.expiresAt!.getTime()).to.equal(timestampMs(response.leaseExpireTime!));
      expect(extended.expiresAt!.getTime()).to.be.above(claimed.expiresAt!.getTime());
    });

    it("refuses another lease token (LEASE_LOST), writing nothing, and says how the run ended once it did", async () => {
      const { runId, leaseToken } = await claimedRun();
      const before = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      const lease = await leaseOf(runId);
      const report = (token: string, init: Partial<ReportInit> = {}) =>
        progress.client.reportProgress(
          {
            runId,
            orgId: orgId(),
            leaseToken: token,
            events: [valid],
            checkpoints: [{ nodeId: 'one', status: 'succeeded', outputJson: '1', attempt: 1 }],
            finish: { status: 'succeeded' },
            ...init,
          },
          progress.as,
        );
      const stale = await expectRpcError(report(uuidv7()), Code.FailedPrecondition, 'LEASE_LOST');
      expect(stale.rawMessage).to.equal(`this worker no longer holds run ${runId}: it was taken over by another worker`);
      expect(eventTrail(await listAllEvents(bench.platform.grpc, runId, bench.asMember()))).to.deep.equal(eventTrail(before));
      expect(await checkpointCount(runId)).to.equal(0);
      expect(await leaseOf(runId)).to.deep.equal(lease);
      const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
      expect(run!.status).to.equal(RunStatus.RUNNING);

      await report(leaseToken, { finish: { status: 'cancelled', reason: 'CANCELLED' } });
      const ended = await expectRpcError(report(leaseToken), Code.FailedPrecondition, 'LEASE_LOST');
      expect(ended.rawMessage).to.equal(`this worker no longer holds run ${runId}: it cancelled`);
    });

    it('refuses a report on a run that is not in the organization (NOT_FOUND)', async () => {
      const { runId, leaseToken } = await claimedRun();
      const report = (run: string, org: string) => progress.client.reportProgress({ runId: run, orgId: org, leaseToken, events: [valid] }, progress.as);
      await expectRpcError(report(uuidv7(), orgId()), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(report(runId, uuidv7()), Code.NotFound, 'NOT_FOUND');
      expect(await leaseOf(runId)).to.include({ token: leaseToken });
    });

    it("bounds oversized payloads of reported events and of the run's end, while the run keeps its whole error", async () => {
      const { runId, leaseToken } = await claimedRun();
      const huge = 'x'.repeat(70_000);
      await progress.client.reportProgress(
        {
          runId,
          orgId: orgId(),
          leaseToken,
          events: [{ ...valid, key: 'node.log:one:1', type: 'node.log', payloadJson: JSON.stringify({ line: huge }) }],
          finish: { status: 'failed', reason: 'BOOM', message: huge, nodeId: 'one' },
        },
        progress.as,
      );
      const events = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      const logged = eventOf(events, 'node.log', 'one').payload!;
      expect(logged).to.include({ truncated: true, bytes: Buffer.byteLength(JSON.stringify({ line: huge })) });
      const failed = eventOf(events, 'run.failed').payload!;
      expect(failed).to.include({ truncated: true, bytes: Buffer.byteLength(JSON.stringify({ reason: 'BOOM', message: huge, nodeId: 'one' })) });
      const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
      expect(run!.error!.message).to.equal(huge);
    });
  });

  /** The run's lease as stored. */
  async function leaseOf(runId: string): Promise<{ token: string | null; expiresAt: Date | null }> {
    return withDatabase(bench.platform, 'superuser', async (db) => {
      const { rows } = await db.query('select lease_token, lease_expires_at from workflow.workflow_runs where id = $1', [runId]);
      return { token: rows[0].lease_token as string | null, expiresAt: rows[0].lease_expires_at as Date | null };
    });
  }

  async function checkpointCount(runId: string): Promise<number> {
    return withDatabase(bench.platform, 'superuser', async (db) => {
      const { rows } = await db.query('select count(*)::int as count from workflow.workflow_run_nodes where run_id = $1', [runId]);
      return rows[0].count as number;
    });
  }
});
