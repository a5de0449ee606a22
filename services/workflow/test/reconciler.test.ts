import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code, type CallOptions } from '@connectrpc/connect';
import { ClaimOutcome, RunStatus, type Run } from '@foundation/contracts';
import { RunQueue } from '@foundation/run-queue';
import { expectRpcError, inOrg, orgWithRoles, withDatabase } from '@foundation/testing';
import { expect } from 'chai';
import {
  chainSpec,
  delayNode,
  eventOf,
  eventTrail,
  listAllEvents,
  orphanedRun,
  publishedWorkflow,
  runProgressAs,
  runToEnd,
  startLongRun,
  startRunBench,
  transformNode,
  type RunBench,
} from './workflow-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Run recovery', () => {
  describe('with one worker slot, a 1 s reconcile interval, a 2 s lease and at most 2 claims per run', () => {
    let bench: RunBench;
    let queue: RunQueue;
    before(async () => {
      bench = await startRunBench({
        FOUNDATION_WORKER_CONCURRENCY: '1',
        FOUNDATION_RECONCILE_INTERVAL: '1s',
        FOUNDATION_RUN_LEASE: '2s',
        FOUNDATION_RUN_MAX_CLAIMS: '2',
      });
      queue = new RunQueue(bench.platform.redis.url);
      await queue.connect();
    });
    after(async () => {
      await queue?.close();
      await bench?.close();
    });

    it('the reconciler queues again a queued run whose job vanished from Redis, and the run completes', async () => {
      const workflow = await publishedWorkflow(bench.platform.grpc, chainSpec([delayNode('wait', '2s')]), bench.asAdmin());
      const { run: first } = await bench.platform.grpc.runs.startRun({ workflowId: workflow.id }, bench.asMember());
      await runToStart(first!.id);
      const lost = await orphanedRun(bench, queue, chainSpec([transformNode('one', '1')]));
      expect(await queue.jobState(lost.id)).to.equal('unknown');

      const ended = await runToEnd(bench.platform.grpc, lost.id, bench.asMember(), 15_000);
      expect(ended.status).to.equal(RunStatus.SUCCEEDED);
      expect(ended.attempt).to.equal(1);
      const { run: firstEnded } = await bench.platform.grpc.runs.getRun({ runId: first!.id }, bench.asMember());
      expect(firstEnded!.status).to.equal(RunStatus.SUCCEEDED);
      expect(timestampMs(ended.startTime!)).to.be.at.least(timestampMs(firstEnded!.endTime!));
      expect(bench.platform.logLines.some((line) => line.includes('reconciler queued a run that had no job') && line.includes(lost.id))).to.equal(true);
    });

    it('refuses every report of a worker whose lease expired and was taken over (LEASE_LOST), writing nothing', async () => {
      const busy = await startLongRun(bench);
      const run = await orphanedRun(bench, queue, chainSpec([transformNode('one', '1')]));
      const { client, as } = await runProgressAs(bench.platform);
      const orgId = bench.tenant.org.id;

      const w1 = await client.claimRun({ runId: run.id, orgId, workerId: 'w1' }, as);
      expect(w1.outcome).to.equal(ClaimOutcome.CLAIMED);
      expect(w1.attempt).to.equal(1);
      const held = await client.claimRun({ runId: run.id, orgId, workerId: 'w2' }, as);
      expect(held.outcome).to.equal(ClaimOutcome.LEASE_HELD);
      expect(held.retryAfterMs).to.be.within(1, 2_000);

      await sleep(timestampMs(w1.leaseExpireTime!) - Date.now() + 100);
      const w2 = await client.claimRun({ runId: run.id, orgId, workerId: 'w2' }, as);
      expect(w2.outcome).to.equal(ClaimOutcome.CLAIMED);
      expect(w2.attempt).to.equal(2);
      expect(w2.leaseToken).not.to.equal(w1.leaseToken);

      const before = await listAllEvents(bench.platform.grpc, run.id, bench.asMember());
      const report = (leaseToken: string, finish: boolean) =>
        client.reportProgress(
          {
            runId: run.id,
            orgId,
            leaseToken,
            events: [
              { key: `node.started:one:${leaseToken}`, type: 'node.started', nodeId: 'one', attempt: 1, payloadJson: '{}' },
              { key: `node.succeeded:one:${leaseToken}`, type: 'node.succeeded', nodeId: 'one', attempt: 1, payloadJson: '{"output":1}' },
            ],
            checkpoints: [{ nodeId: 'one', status: 'succeeded', outputJson: '1', attempt: 1 }],
            finish: finish ? { status: 'succeeded' } : undefined,
          },
          as,
        );
      await expectRpcError(report(w1.leaseToken, false), Code.FailedPrecondition, 'LEASE_LOST');
      await expectRpcError(report(w1.leaseToken, true), Code.FailedPrecondition, 'LEASE_LOST');
      expect(eventTrail(await listAllEvents(bench.platform.grpc, run.id, bench.asMember()))).to.deep.equal(eventTrail(before));
      expect(await checkpointCount(run.id)).to.equal(0);
      const { run: still } = await bench.platform.grpc.runs.getRun({ runId: run.id }, bench.asMember());
      expect(still!.status).to.equal(RunStatus.RUNNING);

      // The worker that holds the lease finishes the run; the stale one cannot write even after that.
      await report(w2.leaseToken, true);
      const ended = await runToEnd(bench.platform.grpc, run.id, bench.asMember());
      expect(ended.status).to.equal(RunStatus.SUCCEEDED);
      expect(ended.attempt).to.equal(2);
      await expectRpcError(report(w1.leaseToken, true), Code.FailedPrecondition, 'LEASE_LOST');
      const after = await listAllEvents(bench.platform.grpc, run.id, bench.asMember());
      expect(eventTrail(after)).to.deep.equal(['run.queued', 'run.started', 'run.started', 'node.started:one', 'node.succeeded:one', 'run.succeeded']);

      await bench.platform.grpc.runs.cancelRun({ runId: busy.id }, bench.asMember());
      await runToEnd(bench.platform.grpc, busy.id, bench.asMember(), 5_000);
    });

    it('fails a run as RECOVERY_EXHAUSTED once it has been claimed as often as allowed', async () => {
      const busy = await startLongRun(bench);
      const run = await orphanedRun(bench, queue, chainSpec([transformNode('one', '1')]));
      const { client, as } = await runProgressAs(bench.platform);
      const claim = (workerId: string) => client.claimRun({ runId: run.id, orgId: bench.tenant.org.id, workerId }, as);
      for (const workerId of ['w1', 'w2']) {
        const claimed = await claim(workerId);
        expect(claimed.outcome).to.equal(ClaimOutcome.CLAIMED);
        await sleep(timestampMs(claimed.leaseExpireTime!) - Date.now() + 100);
      }
      // The third claim (or the reconciler, whichever comes first) ends the run instead.
      expect((await claim('w3')).outcome).to.equal(ClaimOutcome.FINISHED);
      const ended = await runToEnd(bench.platform.grpc, run.id, bench.asMember());
      expect(ended.status).to.equal(RunStatus.FAILED);
      expect(ended.error).to.include({ reason: 'RECOVERY_EXHAUSTED' });
      expect(ended.attempt).to.equal(2);
      expect(eventTrail(await listAllEvents(bench.platform.grpc, run.id, bench.asMember()))).to.deep.equal(['run.queued', 'run.started', 'run.started', 'run.failed']);
      await bench.platform.grpc.runs.cancelRun({ runId: busy.id }, bench.asMember());
      await runToEnd(bench.platform.grpc, busy.id, bench.asMember(), 5_000);
    });

    it('the reconciler ends a running run past its deadline whose worker went silent (RUN_TIMEOUT)', async () => {
      const busy = await startLongRun(bench);
      const run = await orphanedRun(bench, queue, chainSpec([transformNode('one', '1')], { timeout: '1s' }));
      const { client, as } = await runProgressAs(bench.platform);
      const claimed = await client.claimRun({ runId: run.id, orgId: bench.tenant.org.id, workerId: 'silent' }, as);
      expect(claimed.outcome).to.equal(ClaimOutcome.CLAIMED);
      expect(timestampMs(claimed.deadline!) - Date.now()).to.be.within(0, 1_000);

      const ended = await runToEnd(bench.platform.grpc, run.id, bench.asMember(), 5_000);
      expect(ended.status).to.equal(RunStatus.FAILED);
      expect(ended.error).to.include({ reason: 'RUN_TIMEOUT' });
      expect(timestampMs(ended.endTime!) - timestampMs(claimed.deadline!)).to.be.within(0, 2_500);
      await expectRpcError(
        client.reportProgress({ runId: run.id, orgId: bench.tenant.org.id, leaseToken: claimed.leaseToken, finish: { status: 'succeeded' } }, as),
        Code.FailedPrecondition,
        'LEASE_LOST',
      );
      expect((await bench.platform.grpc.runs.getRun({ runId: run.id }, bench.asMember())).run!.status).to.equal(RunStatus.FAILED);
      await bench.platform.grpc.runs.cancelRun({ runId: busy.id }, bench.asMember());
      await runToEnd(bench.platform.grpc, busy.id, bench.asMember(), 5_000);
    });

    async function runToStart(runId: string) {
      for (let i = 0; i < 200; i++) {
        const { run } = await bench.platform.grpc.runs.getRun({ runId }, bench.asMember());
        if (run!.status === RunStatus.RUNNING) return;
        await sleep(25);
      }
      throw new Error(`run ${runId} never started`);
    }

    async function checkpointCount(runId: string): Promise<number> {
      return withDatabase(bench.platform, 'superuser', async (db) => {
        const { rows } = await db.query('select count(*)::int as count from workflow.workflow_run_nodes where run_id = $1', [runId]);
        return rows[0].count as number;
      });
    }
  });

  describe('with at most one running run per organization', () => {
    let bench: RunBench;
    before(async () => (bench = await startRunBench({ FOUNDATION_ORG_MAX_RUNNING_RUNS: '1', FOUNDATION_WORKER_CONCURRENCY: '4' })));
    after(() => bench?.close());

    it("runs an organization's runs one after another without holding up another organization's", async () => {
      const other = await orgWithRoles(bench.platform.grpc);
      const json = chainSpec([delayNode('wait', '400ms')]);
      const ours = await publishedWorkflow(bench.platform.grpc, json, bench.asAdmin());
      const theirs = await publishedWorkflow(bench.platform.grpc, json, inOrg(other.admin, other.org.id));
      const started = await Promise.all([
        ...[1, 2, 3].map(() => bench.platform.grpc.runs.startRun({ workflowId: ours.id }, bench.asMember())),
        bench.platform.grpc.runs.startRun({ workflowId: theirs.id }, inOrg(other.member, other.org.id)),
      ]);
      const ids = started.map((s) => s.run!.id);

      /** When the run's only claim began and when it ended, from its events (one clock: the service's). */
      const spanOf = async (run: Run, options: CallOptions) => {
        const ended = await runToEnd(bench.platform.grpc, run.id, options, 15_000);
        expect(ended.status).to.equal(RunStatus.SUCCEEDED);
        expect(ended.attempt, 'a run refused for capacity is not a claim').to.equal(1);
        const events = await listAllEvents(bench.platform.grpc, run.id, options);
        return { start: timestampMs(eventOf(events, 'run.started').time!), end: timestampMs(eventOf(events, 'run.succeeded').time!) };
      };
      const spans = await Promise.all(started.slice(0, 3).map((s) => spanOf(s.run!, bench.asMember())));
      const theirSpan = await spanOf(started[3]!.run!, inOrg(other.member, other.org.id));
      expect(new Set(ids).size).to.equal(4);

      spans.sort((a, b) => a.start - b.start);
      for (let i = 1; i < spans.length; i++) expect(spans[i]!.start, `run ${i + 1} began before run ${i} ended`).to.be.at.least(spans[i - 1]!.end);
      // The other organization's run started while the first of ours was still going.
      expect(theirSpan.start).to.be.below(spans[0]!.end);
    });
  });
});
