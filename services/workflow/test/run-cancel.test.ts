import { Code } from '@connectrpc/connect';
import { RunStatus } from '@foundation/contracts';
import { RunQueue } from '@foundation/run-queue';
import { expectRpcError } from '@foundation/testing';
import { expect } from 'chai';
import { chainSpec, eventOf, eventTrail, listAllEvents, publishedWorkflow, runToEnd, startLongRun, startRunBench, transformNode, watchUntil, type RunBench } from './workflow-fixtures.js';

describe('RunService: CancelRun()', () => {
  let bench: RunBench;
  let queue: RunQueue;
  // One run at a time, so a second run waits in the queue behind the first.
  before(async () => {
    bench = await startRunBench({ FOUNDATION_WORKER_CONCURRENCY: '1' });
    queue = new RunQueue(bench.platform.redis.url);
    await queue.connect();
  });
  after(async () => {
    await queue?.close();
    await bench?.close();
  });
  const runs = () => bench.platform.grpc.runs;

  it('interrupts a running node at once and ends the run cancelled', async () => {
    const run = await startLongRun(bench);
    const asked = Date.now();
    const { run: cancelling } = await runs().cancelRun({ runId: run.id }, bench.asMember());
    expect(cancelling!.status).to.be.oneOf([RunStatus.RUNNING, RunStatus.CANCELLED]);
    const ended = await runToEnd(bench.platform.grpc, run.id, bench.asMember(), 5_000);
    expect(Date.now() - asked).to.be.below(2_000);
    expect(ended.status).to.equal(RunStatus.CANCELLED);
    expect(ended.error).to.include({ reason: 'CANCELLED' });
    const events = await listAllEvents(bench.platform.grpc, run.id, bench.asMember());
    expect(eventTrail(events)).to.deep.equal(['run.queued', 'run.started', 'node.started:wait', 'node.failed:wait', 'run.cancelled']);
    expect(eventOf(events, 'node.failed', 'wait').payload).to.include({ reason: 'CANCELLED' });
    // Nothing after the cancellation: the node's success never comes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await listAllEvents(bench.platform.grpc, run.id, bench.asMember())).to.have.length(events.length);
  });

  it('interrupts a node waiting to retry', async () => {
    bench.api.behave('/down', { failures: 100, failStatus: 503 });
    const call = { connector: 'http', action: 'request', params: { method: 'GET', url: `${bench.api.url}/down` } };
    const json = chainSpec([{ id: 'call', type: 'connector.action', config: call, retry: { maxAttempts: 5, initialBackoff: '30s' } }]);
    const workflow = await publishedWorkflow(bench.platform.grpc, json, bench.asAdmin());
    const { run } = await runs().startRun({ workflowId: workflow.id }, bench.asMember());
    await watchUntil(bench.platform.grpc, run!.id, bench.asMember(), (e) => e.type === 'node.retrying');
    const asked = Date.now();
    await runs().cancelRun({ runId: run!.id }, bench.asMember());
    const ended = await runToEnd(bench.platform.grpc, run!.id, bench.asMember(), 5_000);
    expect(Date.now() - asked).to.be.below(2_000);
    expect(ended.status).to.equal(RunStatus.CANCELLED);
    const events = await listAllEvents(bench.platform.grpc, run!.id, bench.asMember());
    expect(eventTrail(events).slice(2)).to.deep.equal(['node.started:call', 'node.log:call', 'node.retrying:call', 'node.failed:call', 'run.cancelled']);
    expect(eventOf(events, 'node.failed', 'call').payload).to.include({ reason: 'CANCELLED' });
  });

  it('cancels a queued run at once, and its worker never starts it', async () => {
    const busy = await startLongRun(bench);
    const workflow = await publishedWorkflow(bench.platform.grpc, chainSpec([transformNode('one', '1')]), bench.asAdmin());
    const { run: queued } = await runs().startRun({ workflowId: workflow.id }, bench.asMember());
    expect(await queue.jobState(queued!.id)).to.equal('waiting');

    const { run: cancelled } = await runs().cancelRun({ runId: queued!.id }, bench.asMember());
    expect(cancelled!.status).to.equal(RunStatus.CANCELLED);
    expect(cancelled!.error).to.include({ reason: 'CANCELLED' });
    // Again: not an error, and nothing changes.
    const { run: again } = await runs().cancelRun({ runId: queued!.id }, bench.asMember());
    expect(again!.status).to.equal(RunStatus.CANCELLED);

    // Free the worker; it takes the cancelled run's job and drops it.
    await runs().cancelRun({ runId: busy.id }, bench.asMember());
    await runToEnd(bench.platform.grpc, busy.id, bench.asMember(), 5_000);
    const until = Date.now() + 5_000;
    while ((await queue.jobState(queued!.id)) !== 'unknown' && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await queue.jobState(queued!.id)).to.equal('unknown');

    const { run: after } = await runs().getRun({ runId: queued!.id }, bench.asMember());
    expect(after!.status).to.equal(RunStatus.CANCELLED);
    expect(after!.startTime).to.equal(undefined);
    expect(after!.attempt).to.equal(0);
    expect(eventTrail(await listAllEvents(bench.platform.grpc, queued!.id, bench.asMember()))).to.deep.equal(['run.queued', 'run.cancelled']);
  });

  it('refuses to cancel a run that already succeeded or failed (RUN_FINISHED)', async () => {
    const succeeded = await bench.runToEnd(chainSpec([transformNode('one', '1')]));
    expect(succeeded.run.status).to.equal(RunStatus.SUCCEEDED);
    await expectRpcError(runs().cancelRun({ runId: succeeded.run.id }, bench.asMember()), Code.FailedPrecondition, 'RUN_FINISHED');
    const failed = await bench.runToEnd(chainSpec([transformNode('boom', '$error("boom")')]));
    expect(failed.run.status).to.equal(RunStatus.FAILED);
    await expectRpcError(runs().cancelRun({ runId: failed.run.id }, bench.asMember()), Code.FailedPrecondition, 'RUN_FINISHED');
    const { run } = await runs().getRun({ runId: succeeded.run.id }, bench.asMember());
    expect(run!.status).to.equal(RunStatus.SUCCEEDED);
  });
});
