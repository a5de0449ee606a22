import type { JsonObject } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { RunStatus, type Run } from '@foundation/contracts';
import { expectRpcError, inOrg, invalidFieldOf, orgWithRoles, withDatabase, type OrgWithRoles } from '@foundation/testing';
import type { WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import { chainSpec, delayNode, publishedWorkflow, runToEnd, spec, startRunBench, transformNode, watchToEnd, watchUntil, type RunBench } from './workflow-fixtures.js';

/** Echoes its inputs: `name` (required), `count` (default 3) and `tags` (optional). */
const ECHO: WorkflowSpecJson = chainSpec([transformNode('echo', 'inputs')], {
  inputs: [
    { name: 'name', type: 'string', required: true },
    { name: 'count', type: 'integer', default: 3 },
    { name: 'tags', type: 'array' },
  ],
});

describe('RunService: starting, retrying and listing runs', () => {
  let bench: RunBench;
  before(async () => (bench = await startRunBench()));
  after(() => bench?.close());
  const runs = () => bench.platform.grpc.runs;
  const published = (json: WorkflowSpecJson) => publishedWorkflow(bench.platform.grpc, json, bench.asAdmin());
  const start = (workflowId: string, inputs: JsonObject = {}, idempotencyKey = '') =>
    runs().startRun({ workflowId, inputs, idempotencyKey }, bench.asMember());
  const listed = async (workflowId: string, status = RunStatus.UNSPECIFIED) =>
    (await runs().listRuns({ workflowId, status, page: { pageSize: 200 } }, bench.asMember())).runs;

  describe('StartRun()', () => {
    it('refuses a start that raced an archive: the run waits for the archive and is not created', async () => {
      const workflow = await published(ECHO);
      await withDatabase(bench.platform, 'superuser', async (db) => {
        // An archive under way: its transaction holds the workflow's row.
        await db.query('begin');
        await db.query("update workflow.workflows set state = 'archived' where id = $1", [workflow.id]);
        const racing = start(workflow.id, { name: 'late' });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await db.query('commit');
        await expectRpcError(racing, Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
      });
      expect(await listed(workflow.id)).to.deep.equal([]);
    });

    it('refuses inputs of the wrong type, missing or undeclared, naming the input, and creates nothing', async () => {
      const workflow = await published(ECHO);
      const cases: [JsonObject, string][] = [
        [{ name: 5 }, 'inputs.name'],
        [{ name: 'a', count: 2.5 }, 'inputs.count'],
        [{ name: 'a', tags: 'x' }, 'inputs.tags'],
        [{}, 'inputs.name'],
        [{ count: 1 }, 'inputs.name'],
        [{ name: 'a', extra: 1 }, 'inputs.extra'],
        // Text no run can store (PostgreSQL's jsonb refuses it).
        [{ name: 'a\u0000b' }, 'inputs.name'],
        [{ name: 'a', tags: [{ 'k\u0000': 1 }] }, 'inputs.tags'],
      ];
      for (const [inputs, field] of cases) {
        const error = await expectRpcError(start(workflow.id, inputs), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error), JSON.stringify(inputs)).to.equal(field);
      }
      // Half of a surrogate pair reaches the service only as JSON text (UTF-8, and so gRPC and the Connect
      // client, cannot carry it).
      const halfPair = await fetch(`${bench.platform.baseUrl}/foundation.workflow.v1.RunService/StartRun`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bench.asMember().headers },
        body: `{"workflowId": "${workflow.id}", "inputs": {"name": "x\\ud800"}}`,
      });
      expect(halfPair.status).to.equal(400);
      const refusal = (await halfPair.json()) as { details: { debug: { reason: string; metadata: { field: string } } }[] };
      expect(refusal.details[0]!.debug).to.deep.include({ reason: 'INVALID_FIELD', metadata: { field: 'inputs.name' } });
      expect(await listed(workflow.id)).to.deep.equal([]);
    });

    it("refuses a webhook body holding text no run can store, naming the body", async () => {
      const hooked = await published({ nodes: [{ id: 'hook', type: 'trigger.webhook' }, transformNode('one', 'trigger.body')], edges: [{ from: 'hook', to: 'one' }] });
      const post = (body: string) => fetch(`${bench.platform.baseUrl}${hooked.webhookPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const refused = await post('{"note": "a\\u0000b"}');
      expect(refused.status).to.equal(400);
      const refusal = (await refused.json()) as { details: { debug: { reason: string; metadata: { field: string } } }[] };
      expect(refusal.details[0]!.debug).to.deep.include({ reason: 'INVALID_FIELD', metadata: { field: 'body' } });
      expect(await listed(hooked.id)).to.deep.equal([]);
      expect((await post('{"note": "fine"}')).status).to.equal(202);
    });

    it('refuses workflows that cannot be started by hand, and bad ids, creating nothing', async () => {
      const admin = bench.asAdmin();
      const { workflow: draft } = await bench.platform.grpc.workflows.createWorkflow({ name: 'draft only', spec: spec(ECHO) }, admin);
      await expectRpcError(start(draft!.id, { name: 'a' }), Code.FailedPrecondition, 'WORKFLOW_NOT_PUBLISHED');

      const webhookOnly = await published({ nodes: [{ id: 'hook', type: 'trigger.webhook' }, transformNode('one', '1')], edges: [{ from: 'hook', to: 'one' }] });
      await expectRpcError(start(webhookOnly.id), Code.FailedPrecondition, 'NO_MANUAL_TRIGGER');

      const workflow = await published(ECHO);
      const unknownVersion = runs().startRun({ workflowId: workflow.id, version: 2, inputs: { name: 'a' } }, bench.asMember());
      expect(invalidFieldOf(await expectRpcError(unknownVersion, Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('version');
      const { run: finished } = await runs().startRun({ workflowId: workflow.id, version: 1, inputs: { name: 'a' } }, bench.asMember());
      expect(finished!.workflowVersion).to.equal(1);
      await runToEnd(bench.platform.grpc, finished!.id, bench.asMember());
      await bench.platform.grpc.workflows.archiveWorkflow({ workflowId: workflow.id }, admin);
      await expectRpcError(start(workflow.id, { name: 'a' }), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');
      await expectRpcError(runs().retryRun({ runId: finished!.id }, bench.asMember()), Code.FailedPrecondition, 'WORKFLOW_ARCHIVED');

      await expectRpcError(start(uuidv7()), Code.NotFound, 'NOT_FOUND');
      expect(invalidFieldOf(await expectRpcError(start('nope'), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('workflow_id');
      expect(invalidFieldOf(await expectRpcError(runs().getRun({ runId: 'nope' }, bench.asMember()), Code.InvalidArgument, 'INVALID_FIELD'))).to.equal('run_id');
      await expectRpcError(runs().getRun({ runId: uuidv7() }, bench.asMember()), Code.NotFound, 'NOT_FOUND');
      expect(await listed(draft!.id)).to.deep.equal([]);
      expect(await listed(webhookOnly.id)).to.deep.equal([]);
      expect((await listed(workflow.id)).map((r) => r.id)).to.deep.equal([finished!.id]);
    });

    it('applies the declared defaults: Run.inputs and the expressions see them', async () => {
      const workflow = await published(ECHO);
      const { run } = await start(workflow.id, { name: 'ada' });
      expect(run!.inputs).to.deep.equal({ name: 'ada', count: 3 });
      const events = await watchToEnd(bench.platform.grpc, run!.id, bench.asMember());
      expect(events.find((e) => e.type === 'node.succeeded')!.payload).to.deep.equal({ output: { name: 'ada', count: 3 } });
      const { run: given } = await start(workflow.id, { name: 'bob', count: 7, tags: ['x'] });
      expect(given!.inputs).to.deep.equal({ name: 'bob', count: 7, tags: ['x'] });
    });

    it('returns the first run for a repeated idempotency key instead of starting another', async () => {
      const workflow = await published(ECHO);
      const { run: first } = await start(workflow.id, { name: 'once' }, 'order-42');
      const { run: again } = await start(workflow.id, { name: 'once' }, 'order-42');
      expect(again!.id).to.equal(first!.id);
      expect(again!.idempotencyKey).to.equal('order-42');
      const { run: other } = await start(workflow.id, { name: 'once' }, 'order-43');
      expect(other!.id).not.to.equal(first!.id);
      expect((await listed(workflow.id)).map((r) => r.id)).to.have.members([first!.id, other!.id]);
      const long = await expectRpcError(start(workflow.id, { name: 'x' }, 'k'.repeat(201)), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(long)).to.equal('idempotency_key');
    });
    it('starts one run when the same idempotency key arrives several times at once', async () => {
      const workflow = await published(ECHO);
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => start(workflow.id, { name: 'race' }, 'same-key')));
      expect(new Set(answers.map((a) => a.run!.id)).size).to.equal(1);
      expect(await listed(workflow.id)).to.have.length(1);
      expect((await runToEnd(bench.platform.grpc, answers[0]!.run!.id, bench.asMember())).status).to.equal(RunStatus.SUCCEEDED);
    });
  });

  describe('RetryRun()', () => {
    it('starts a new run of the same version with the same inputs, marked as a retry', async () => {
      const workflow = await published(ECHO);
      const { run: original } = await start(workflow.id, { name: 'ada' });
      await runToEnd(bench.platform.grpc, original!.id, bench.asMember());
      // A newer version must not change what a retry runs.
      const v2 = chainSpec([transformNode('echo', '"v2"')], { inputs: ECHO.inputs! });
      await bench.platform.grpc.workflows.updateWorkflow({ workflowId: workflow.id, name: workflow.name, spec: spec(v2) }, bench.asAdmin());
      await bench.platform.grpc.workflows.publishWorkflow({ workflowId: workflow.id }, bench.asAdmin());

      const { run: retry } = await runs().retryRun({ runId: original!.id }, bench.asMember());
      expect(retry!.id).not.to.equal(original!.id);
      expect(retry).to.deep.include({ trigger: 'retry', retryOf: original!.id, workflowId: workflow.id, workflowVersion: 1, startedBy: bench.tenant.member.userId });
      expect(retry!.inputs).to.deep.equal({ name: 'ada', count: 3 });
      const events = await watchToEnd(bench.platform.grpc, retry!.id, bench.asMember());
      expect(events.find((e) => e.type === 'node.succeeded')!.payload).to.deep.equal({ output: { name: 'ada', count: 3 } });
      expect((await listed(workflow.id)).map((r) => r.id)).to.deep.equal([retry!.id, original!.id]);

      const { run: keyed } = await runs().retryRun({ runId: original!.id, idempotencyKey: 'retry-1' }, bench.asMember());
      const { run: keyedAgain } = await runs().retryRun({ runId: original!.id, idempotencyKey: 'retry-1' }, bench.asMember());
      expect(keyedAgain!.id).to.equal(keyed!.id);
    });

    it('refuses a run still running (RUN_NOT_FINISHED)', async () => {
      const workflow = await published(chainSpec([delayNode('wait', '30s')]));
      const { run } = await start(workflow.id);
      await expectRpcError(runs().retryRun({ runId: run!.id }, bench.asMember()), Code.FailedPrecondition, 'RUN_NOT_FINISHED');
      await watchUntil(bench.platform.grpc, run!.id, bench.asMember(), (e) => e.type === 'node.started');
      await expectRpcError(runs().retryRun({ runId: run!.id }, bench.asMember()), Code.FailedPrecondition, 'RUN_NOT_FINISHED');
      expect(await listed(workflow.id)).to.have.length(1);
      await runs().cancelRun({ runId: run!.id }, bench.asMember());
    });
  });

  describe('ListRuns()', () => {
    it('lists newest first, filtered by workflow and status, in pages', async () => {
      const succeeding = await published(ECHO);
      const failing = await published(chainSpec([transformNode('boom', '$error("boom")')]));
      const started: Run[] = [];
      for (const name of ['a', 'b', 'c']) started.push((await start(succeeding.id, { name })).run!);
      const failed = (await start(failing.id)).run!;
      await Promise.all([...started, failed].map((r) => runToEnd(bench.platform.grpc, r.id, bench.asMember())));

      const newestFirst = started.map((r) => r.id).reverse();
      expect((await listed(succeeding.id)).map((r) => r.id)).to.deep.equal(newestFirst);
      expect((await listed(succeeding.id, RunStatus.SUCCEEDED)).map((r) => r.id)).to.deep.equal(newestFirst);
      expect(await listed(succeeding.id, RunStatus.FAILED)).to.deep.equal([]);
      expect((await listed(failing.id, RunStatus.FAILED)).map((r) => r.id)).to.deep.equal([failed.id]);
      const allFailed = (await listed('', RunStatus.FAILED)).map((r) => r.id);
      expect(allFailed).to.include(failed.id);
      expect(allFailed).not.to.include.members(newestFirst);

      const first = await runs().listRuns({ workflowId: succeeding.id, page: { pageSize: 2 } }, bench.asMember());
      expect(first.runs.map((r) => r.id)).to.deep.equal(newestFirst.slice(0, 2));
      expect(first.page!.nextPageToken).not.to.equal('');
      const second = await runs().listRuns({ workflowId: succeeding.id, page: { pageSize: 2, pageToken: first.page!.nextPageToken } }, bench.asMember());
      expect(second.runs.map((r) => r.id)).to.deep.equal(newestFirst.slice(2));
      expect(second.page!.nextPageToken).to.equal('');

      await expectRpcError(runs().listRuns({ status: 99 as RunStatus }, bench.asMember()), Code.InvalidArgument, 'INVALID_FIELD');
    });
  });

  describe('another organization', () => {
    let other: OrgWithRoles;
    before(async () => (other = await orgWithRoles(bench.platform.grpc)));
    const asOutsider = () => inOrg(other.member, other.org.id);

    it("cannot read, watch, cancel, retry or list this organization's runs (NOT_FOUND)", async () => {
      const quick = await published(ECHO);
      const { run: finished } = await start(quick.id, { name: 'ada' });
      await runToEnd(bench.platform.grpc, finished!.id, bench.asMember());
      const slow = await published(chainSpec([delayNode('wait', '30s')]));
      const { run: running } = await start(slow.id);

      for (const runId of [finished!.id, running!.id]) {
        await expectRpcError(runs().getRun({ runId }, asOutsider()), Code.NotFound, 'NOT_FOUND');
        await expectRpcError(runs().listRunEvents({ runId }, asOutsider()), Code.NotFound, 'NOT_FOUND');
        await expectRpcError(watchToEnd(bench.platform.grpc, runId, asOutsider()), Code.NotFound, 'NOT_FOUND');
        await expectRpcError(runs().cancelRun({ runId }, asOutsider()), Code.NotFound, 'NOT_FOUND');
      }
      await expectRpcError(runs().retryRun({ runId: finished!.id }, asOutsider()), Code.NotFound, 'NOT_FOUND');
      await expectRpcError(runs().startRun({ workflowId: quick.id, inputs: { name: 'x' } }, asOutsider()), Code.NotFound, 'NOT_FOUND');
      const theirs = await runs().listRuns({}, asOutsider());
      expect(theirs.runs).to.deep.equal([]);
      expect((await runs().listRuns({ workflowId: quick.id }, asOutsider())).runs).to.deep.equal([]);

      // The outsider's cancel changed nothing; the owner's own does.
      const { run: still } = await runs().getRun({ runId: running!.id }, bench.asMember());
      expect(still!.status).to.be.oneOf([RunStatus.QUEUED, RunStatus.RUNNING]);
      await runs().cancelRun({ runId: running!.id }, bench.asMember());
      expect((await runToEnd(bench.platform.grpc, running!.id, bench.asMember(), 5_000)).status).to.equal(RunStatus.CANCELLED);
    });
  });
});
