import { timestampMs } from '@bufbuild/protobuf/wkt';
import { RunStatus } from '@foundation/contracts';
import type { NodeJson, RetryPolicyJson, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { attemptTrail, chainSpec, delayNode, eventOf, FAIL_FAST, startRunBench, type RunBench } from './workflow-fixtures.js';

describe('RunService: retries and timeouts', () => {
  let bench: RunBench;
  before(async () => (bench = await startRunBench()));
  after(() => bench?.close());
  const runOf = (json: WorkflowSpecJson) => bench.runToEnd(json);
  const api = () => bench.api;

  /** A POST to the effect server's `path`, attempted per `retry`. */
  const call = (path: string, retry: RetryPolicyJson): NodeJson => ({
    id: 'call',
    type: 'connector.action',
    config: { connector: 'http', action: 'request', params: { method: 'POST', url: `${api().url}${path}` } },
    retry,
  });

  describe('retry policy', () => {
    it('retries a retryable failure with backoff until an attempt succeeds', async () => {
      api().behave('/flaky', { failures: 2, failStatus: 503 });
      const { run, events } = await runOf(chainSpec([call('/flaky', { maxAttempts: 3, initialBackoff: '100ms' })]));
      expect(run.status).to.equal(RunStatus.SUCCEEDED);
      expect(attemptTrail(events)).to.deep.equal([
        'node.started:call(1)',
        'node.log:call(1)',
        'node.retrying:call(1)',
        'node.started:call(2)',
        'node.log:call(2)',
        'node.retrying:call(2)',
        'node.started:call(3)',
        'node.log:call(3)',
        'node.succeeded:call(3)',
      ]);
      // Backoff doubles (the default multiplier) from the initial 100 ms.
      expect(eventOf(events, 'node.retrying', 'call', 1).payload).to.include({ reason: 'UPSTREAM_ERROR', delayMs: 100 });
      expect(eventOf(events, 'node.retrying', 'call', 2).payload).to.include({ reason: 'UPSTREAM_ERROR', delayMs: 200 });
      const waited = timestampMs(eventOf(events, 'node.started', 'call', 3).time!) - timestampMs(eventOf(events, 'node.started', 'call', 1).time!);
      expect(waited).to.be.at.least(300);
      expect(api().deliveries.filter((d) => d.path === '/flaky')).to.have.length(3);
    });

    it('fails the run with the connector reason once the attempts are used up', async () => {
      api().behave('/flaky-twice', { failures: 2, failStatus: 503 });
      const { run, events } = await runOf(chainSpec([call('/flaky-twice', { maxAttempts: 2, initialBackoff: '100ms' })]));
      expect(run.status).to.equal(RunStatus.FAILED);
      expect(run.error).to.include({ reason: 'UPSTREAM_ERROR', nodeId: 'call' });
      expect(attemptTrail(events)).to.deep.equal(['node.started:call(1)', 'node.log:call(1)', 'node.retrying:call(1)', 'node.started:call(2)', 'node.log:call(2)', 'node.failed:call(2)']);
      expect(eventOf(events, 'node.failed', 'call').payload).to.include({ reason: 'UPSTREAM_ERROR', retryable: true });
      expect(events.at(-1)).to.include({ type: 'run.failed' });
      expect(events.at(-1)!.payload).to.include({ reason: 'UPSTREAM_ERROR', nodeId: 'call' });
    });

    it('does not retry a failure that is not retryable (HTTP 404)', async () => {
      api().behave('/missing', { failures: 1, failStatus: 404 });
      const { run, events } = await runOf(chainSpec([call('/missing', { maxAttempts: 3, initialBackoff: '100ms' })]));
      expect(run.status).to.equal(RunStatus.FAILED);
      expect(run.error).to.include({ reason: 'UPSTREAM_ERROR', nodeId: 'call' });
      expect(attemptTrail(events)).to.deep.equal(['node.started:call(1)', 'node.log:call(1)', 'node.failed:call(1)']);
      expect(eventOf(events, 'node.failed', 'call').payload).to.include({ retryable: false });
      expect(api().deliveries.filter((d) => d.path === '/missing')).to.have.length(1);
    });
  });

  describe('timeouts', () => {
    it("fails an attempt that outlives the node's timeout with NODE_TIMEOUT, retried as the policy says", async () => {
      const started = Date.now();
      const { run, events } = await runOf(chainSpec([delayNode('wait', '5s', { timeout: '300ms', retry: { maxAttempts: 2, initialBackoff: '100ms' } })]));
      expect(Date.now() - started).to.be.below(3_000);
      expect(run.status).to.equal(RunStatus.FAILED);
      expect(run.error).to.include({ reason: 'NODE_TIMEOUT', nodeId: 'wait' });
      expect(attemptTrail(events)).to.deep.equal(['node.started:wait(1)', 'node.retrying:wait(1)', 'node.started:wait(2)', 'node.failed:wait(2)']);
      expect(eventOf(events, 'node.retrying', 'wait').payload).to.include({ reason: 'NODE_TIMEOUT' });
      expect(eventOf(events, 'node.failed', 'wait').payload).to.include({ reason: 'NODE_TIMEOUT' });
    });

    it("fails a connector call that outlives the node's timeout with NODE_TIMEOUT", async () => {
      api().behave('/slow', { delayMs: 2_000 });
      const started = Date.now();
      const { run, events } = await runOf(chainSpec([{ ...call('/slow', { maxAttempts: 1 }), timeout: '300ms' }]));
      expect(Date.now() - started).to.be.below(1_500);
      expect(run.error).to.include({ reason: 'NODE_TIMEOUT', nodeId: 'call' });
      expect(eventOf(events, 'node.failed', 'call').payload).to.include({ reason: 'NODE_TIMEOUT', retryable: true });
    });

    it("fails the run with RUN_TIMEOUT when its time budget ends, whatever the node's own timeout", async () => {
      const started = Date.now();
      const { run, events } = await runOf(chainSpec([delayNode('wait', '5s', { timeout: '10s' })], { timeout: '1s' }));
      expect(Date.now() - started).to.be.below(3_000);
      expect(run.status).to.equal(RunStatus.FAILED);
      expect(run.error).to.include({ reason: 'RUN_TIMEOUT' });
      expect(timestampMs(run.endTime!) - timestampMs(run.startTime!)).to.be.within(1_000, 2_000);
      expect(events.map((e) => e.type).slice(-2)).to.deep.equal(['node.failed', 'run.failed']);
      expect(events.at(-2)!.payload).to.include({ reason: 'RUN_TIMEOUT' });
      expect(events.at(-1)!.payload).to.include({ reason: 'RUN_TIMEOUT' });
    });
  });

  it('fails fast: the first failure interrupts the sibling branch and fails the run with its reason', async () => {
    const started = Date.now();
    const { run, events } = await runOf(FAIL_FAST);
    expect(Date.now() - started).to.be.below(3_000);
    expect(run.error).to.include({ reason: 'EXPRESSION_FAILED', nodeId: 'boom' });
    expect(eventOf(events, 'node.failed', 'slow').payload).to.include({ reason: 'CANCELLED' });
    expect(events.at(-1)!.type).to.equal('run.failed');
  });
});
