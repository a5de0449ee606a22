import { timestampMs } from '@bufbuild/protobuf/wkt';
import { RunStatus } from '@foundation/contracts';
import type { JsonObject } from '@bufbuild/protobuf';
import { withDatabase } from '@foundation/testing';
import type { WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { chainSpec, delayNode, eventOf, eventTrail, listAllEvents, msBetween, runToEnd, startRunBench, transformNode, type RunBench } from './workflow-fixtures.js';

/** start → route (big when amount > 100, else small) → big | small → join; start → flagged | calm by edge expressions. */
const ROUTED: WorkflowSpecJson = {
  inputs: [{ name: 'amount', type: 'number', required: true }],
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    { id: 'route', type: 'condition', config: { branches: [{ name: 'big', when: 'inputs.amount > 100' }], default: 'small' } },
    transformNode('big', '"big"'),
    transformNode('small', '"small"'),
    transformNode('join', '{ "big": nodes.big.output, "small": nodes.small.output }'),
    transformNode('flagged', '"flagged"'),
    transformNode('calm', '"calm"'),
  ],
  edges: [
    { from: 'start', to: 'route' },
    { from: 'route', to: 'big', condition: 'big' },
    { from: 'route', to: 'small', condition: 'small' },
    { from: 'big', to: 'join' },
    { from: 'small', to: 'join' },
    { from: 'start', to: 'flagged', condition: 'inputs.amount > 1000' },
    { from: 'start', to: 'calm', condition: 'inputs.amount <= 1000' },
  ],
};

describe('RunService: node types', () => {
  let bench: RunBench;
  before(async () => (bench = await startRunBench()));
  after(() => bench?.close());
  const runOf = (json: WorkflowSpecJson, inputs?: JsonObject) => bench.runToEnd(json, inputs);

  it('transform: expressions see the inputs, what the trigger delivered and the run', async () => {
    const json = chainSpec([transformNode('echo', '{ "x": inputs.x, "trigger": trigger, "runId": run.id, "attempt": run.attempt }')], {
      inputs: [{ name: 'x', type: 'number', required: true }],
    });
    const { run, events } = await runOf(json, { x: 5 });
    expect(run.status).to.equal(RunStatus.SUCCEEDED);
    expect(eventOf(events, 'node.succeeded', 'echo').payload).to.deep.equal({ output: { x: 5, trigger: { x: 5 }, runId: run.id, attempt: 1 } });
  });

  it('condition: the chosen branch runs, the other is skipped, the join after both runs; edge expressions route too', async () => {
    const { run, events } = await runOf(ROUTED, { amount: 500 });
    expect(run.status).to.equal(RunStatus.SUCCEEDED);
    const ran = events.filter((e) => e.type === 'node.succeeded').map((e) => e.nodeId);
    expect(ran).to.have.members(['route', 'big', 'join', 'calm']);
    expect(events.filter((e) => e.nodeId === 'small' || e.nodeId === 'flagged')).to.deep.equal([]);
    expect(eventOf(events, 'node.succeeded', 'route').payload).to.deep.equal({ output: { branch: 'big' } });
    expect(eventOf(events, 'node.succeeded', 'join').payload).to.deep.equal({ output: { big: 'big' } });
    // The skipped nodes are checkpointed as such, so a recovered run does not run them either.
    const settled = await withDatabase(bench.platform, 'superuser', async (db) => {
      const { rows } = await db.query('select node_id, status from workflow.workflow_run_nodes where run_id = $1 order by node_id', [run.id]);
      return Object.fromEntries(rows.map((r: { node_id: string; status: string }) => [r.node_id, r.status]));
    });
    expect(settled).to.deep.equal({ big: 'succeeded', calm: 'succeeded', flagged: 'skipped', join: 'succeeded', route: 'succeeded', small: 'skipped' });

    const other = await runOf(ROUTED, { amount: 5000 });
    const otherRan = other.events.filter((e) => e.type === 'node.succeeded').map((e) => e.nodeId);
    expect(otherRan).to.have.members(['route', 'big', 'join', 'flagged']);
    const small = await runOf(ROUTED, { amount: 1 });
    expect(eventOf(small.events, 'node.succeeded', 'join').payload).to.deep.equal({ output: { small: 'small' } });
  });

  it('delay: the node succeeds no sooner than its duration', async () => {
    const { run, events } = await runOf(chainSpec([delayNode('wait', '300ms')]));
    expect(run.status).to.equal(RunStatus.SUCCEEDED);
    expect(msBetween(eventOf(events, 'node.started', 'wait'), eventOf(events, 'node.succeeded', 'wait'))).to.be.at.least(300);
    expect(eventOf(events, 'node.succeeded', 'wait').payload).to.deep.equal({ output: { delayedMs: 300 } });
  });

  it('connector.action: calls the API with the resolved secret as a bearer token, which never reaches an event or a log line', async () => {
    const secret = `s3cr3t-${Date.now()}-value`;
    await bench.platform.grpc.secrets.createSecret({ name: 'API_TOKEN', value: secret }, bench.asAdmin());
    const json = chainSpec([
      {
        id: 'call',
        type: 'connector.action',
        config: {
          connector: 'http',
          action: 'request',
          credential: 'API_TOKEN',
          params: { method: 'POST', url: `${bench.api.url}/hello`, auth: { kind: 'bearer' }, body: { json: { n: '{{ inputs.n }}' } } },
        },
      },
      transformNode('status', 'nodes.call.output.status'),
    ]);
    json.inputs = [{ name: 'n', type: 'number', required: true }];
    const { run, events } = await runOf(json, { n: 7 });
    expect(run.status, JSON.stringify(run.error)).to.equal(RunStatus.SUCCEEDED);

    const delivery = bench.api.deliveries.find((d) => d.path === '/hello')!;
    expect(delivery.headers.authorization).to.equal(`Bearer ${secret}`);
    expect(JSON.parse(delivery.body)).to.deep.equal({ n: 7 });
    const output = eventOf(events, 'node.succeeded', 'call').payload!['output'] as { status: number; body: unknown };
    expect(output.status).to.equal(200);
    expect(output.body).to.deep.equal({ ok: true, path: '/hello', attempt: 1 });
    expect(eventOf(events, 'node.succeeded', 'status').payload).to.deep.equal({ output: 200 });
    // What the attempt did, for people watching: which credential version was used, never its value.
    const logs = events.filter((e) => e.type === 'node.log' && e.nodeId === 'call').map((e) => e.payload!['message']);
    expect(logs).to.deep.equal(['credential API_TOKEN resolved (version 1)', 'running http.request (time budget 30000 ms)']);

    expect(JSON.stringify(events.map((e) => e.payload))).not.to.include(secret);
    expect(bench.platform.logLines.filter((line) => line.includes(secret))).to.deep.equal([]);
    const stored = await withDatabase(bench.platform, 'superuser', async (db) => {
      const { rows } = await db.query(
        `select (select string_agg(payload::text, '') from workflow.workflow_run_events where run_id = $1) as events,
                (select string_agg(output::text, '') from workflow.workflow_run_nodes where run_id = $1) as nodes`,
        [run.id],
      );
      return `${rows[0].events}${rows[0].nodes}`;
    });
    expect(stored).not.to.include(secret);
  });

  it('runs parallel branches at the same time and joins them', async () => {
    const json: WorkflowSpecJson = {
      nodes: [{ id: 'start', type: 'trigger.manual' }, delayNode('left', '600ms'), delayNode('right', '600ms'), transformNode('join', '"joined"')],
      edges: [
        { from: 'start', to: 'left' },
        { from: 'start', to: 'right' },
        { from: 'left', to: 'join' },
        { from: 'right', to: 'join' },
      ],
    };
    const { run, events } = await runOf(json);
    expect(run.status).to.equal(RunStatus.SUCCEEDED);
    const took = timestampMs(run.endTime!) - timestampMs(run.startTime!);
    expect(took).to.be.at.least(600).and.below(1_000);
    const seqOf = (type: string, nodeId: string) => Number(eventOf(events, type, nodeId).seq);
    expect(Math.max(seqOf('node.started', 'left'), seqOf('node.started', 'right'))).to.be.below(
      Math.min(seqOf('node.succeeded', 'left'), seqOf('node.succeeded', 'right')),
    );
    expect(seqOf('node.started', 'join')).to.be.above(Math.max(seqOf('node.succeeded', 'left'), seqOf('node.succeeded', 'right')));
    const stored = await listAllEvents(bench.platform.grpc, run.id, bench.asMember());
    expect(stored.map((e) => Number(e.seq))).to.deep.equal(stored.map((_, i) => i + 1));
    expect(await runToEnd(bench.platform.grpc, run.id, bench.asMember())).to.have.property('status', RunStatus.SUCCEEDED);
  });

  describe('text a run cannot store (U+0000, half a surrogate pair)', () => {
    // PostgreSQL's jsonb, where events and checkpoints live, refuses such text although JSON carries it:
    // a run that reported it could never report again, and recovery after recovery would end RECOVERY_EXHAUSTED.
    it('fails a node whose output holds it at once, with OUTPUT_INVALID', async () => {
      for (const expression of ['"a\\u0000b"', '{ "text": "x\\ud800" }']) {
        const started = Date.now();
        const { run, events } = await runOf(chainSpec([transformNode('bad', expression), transformNode('after', '1')]));
        expect(Date.now() - started, expression).to.be.below(3_000);
        expect(run.error, expression).to.include({ reason: 'OUTPUT_INVALID', nodeId: 'bad' });
        expect(run.attempt).to.equal(1);
        expect(eventTrail(events).slice(-2)).to.deep.equal(['node.failed:bad', 'run.failed']);
      }
    });

    it('keeps a failure message that holds it storable', async () => {
      const { run, events } = await runOf(chainSpec([transformNode('bad', '$error("broken\\u0000here")')]));
      expect(run.attempt).to.equal(1);
      expect(run.error).to.include({ reason: 'EXPRESSION_FAILED', nodeId: 'bad' });
      expect(run.error!.message).to.include('broken\uFFFDhere');
      expect(eventOf(events, 'node.failed', 'bad').payload!['message']).to.include('broken\uFFFDhere');
    });
  });
});
