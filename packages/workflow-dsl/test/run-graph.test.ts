import { expect } from 'chai';
import { compileWorkflow, ExpressionError, RunGraph, type JsonValue, type WorkflowSpecJson } from '../src/index.js';
import { chain, transform, validExampleSpec } from './support/specs.js';

function graphOf(spec: WorkflowSpecJson, options: { triggerNodeId?: string; inputs?: Record<string, JsonValue> } = {}): RunGraph {
  return new RunGraph(compileWorkflow(spec), {
    runId: 'run-1',
    attempt: 1,
    triggerNodeId: options.triggerNodeId ?? 'start',
    triggerOutput: { by: 'ada' },
    inputs: options.inputs ?? {},
  });
}

/** start → a, start → b, a → join, b → join. */
const diamond = (): WorkflowSpecJson => ({
  nodes: [{ id: 'start', type: 'trigger.manual' }, transform('a', '1'), transform('b', '2'), transform('join', '3')],
  edges: [
    { from: 'start', to: 'a' },
    { from: 'start', to: 'b' },
    { from: 'a', to: 'join' },
    { from: 'b', to: 'join' },
  ],
});

/** start → route; route =yes→ yes, route =no→ no; yes → join, no → join. */
const routed = (): WorkflowSpecJson => ({
  inputs: [{ name: 'go', type: 'boolean', default: false }],
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    { id: 'route', type: 'condition', config: { branches: [{ name: 'yes', when: 'inputs.go' }], default: 'no' } },
    transform('yes', '1'),
    transform('no', '2'),
    transform('after_yes', '3'),
    transform('join', 'nodes.no.output'),
  ],
  edges: [
    { from: 'start', to: 'route' },
    { from: 'route', to: 'yes', condition: 'yes' },
    { from: 'route', to: 'no', condition: 'no' },
    { from: 'yes', to: 'after_yes' },
    { from: 'after_yes', to: 'join' },
    { from: 'no', to: 'join' },
  ],
});

describe('RunGraph', () => {
  it('walks a linear chain one node at a time', async () => {
    const graph = graphOf(chain([transform('a', '1'), transform('b', '2')]));
    expect(await graph.advance()).to.deep.equal({ ready: ['a'], skipped: [] });
    expect(await graph.advance()).to.deep.equal({ ready: [], skipped: [] });
    graph.settle('a', 'succeeded', 1);
    expect(await graph.advance()).to.deep.equal({ ready: ['b'], skipped: [] });
    expect(graph.isComplete()).to.equal(false);
    graph.settle('b', 'succeeded', 2);
    expect(await graph.advance()).to.deep.equal({ ready: [], skipped: [] });
    expect(graph.isComplete()).to.equal(true);
    expect(graph.settledOutput('a')).to.equal(1);
  });

  it('makes parallel branches ready in the same advance and joins them once both settled', async () => {
    const graph = graphOf(diamond());
    expect(await graph.advance()).to.deep.equal({ ready: ['a', 'b'], skipped: [] });
    graph.settle('b', 'succeeded', 'B');
    expect(await graph.advance()).to.deep.equal({ ready: [], skipped: [] });
    graph.settle('a', 'succeeded', 'A');
    expect(await graph.advance()).to.deep.equal({ ready: ['join'], skipped: [] });
  });

  it('routes a condition: the branch not taken is skipped, and a join of a skipped and a taken branch runs', async () => {
    const graph = graphOf(routed());
    expect(await graph.advance()).to.deep.equal({ ready: ['route'], skipped: [] });
    graph.settle('route', 'succeeded', { branch: 'no' });
    expect(await graph.advance()).to.deep.equal({ ready: ['no'], skipped: ['yes', 'after_yes'] });
    graph.settle('no', 'succeeded', 'N');
    expect(await graph.advance()).to.deep.equal({ ready: ['join'], skipped: [] });
    graph.settle('join', 'succeeded', null);
    expect(graph.isComplete()).to.equal(true);
    expect(graph.settledOutput('yes')).to.equal(undefined);
  });

  it('skips a join whose every incoming edge is dead', async () => {
    const spec = routed();
    spec.edges = spec.edges!.filter((edge) => edge.from !== 'no');
    spec.nodes[5] = transform('join', '1');
    spec.nodes.push(transform('tail', '2'));
    spec.edges.push({ from: 'join', to: 'tail' }, { from: 'no', to: 'tail' });
    const graph = graphOf(spec);
    await graph.advance();
    graph.settle('route', 'succeeded', { branch: 'no' });
    expect(await graph.advance()).to.deep.equal({ ready: ['no'], skipped: ['yes', 'after_yes', 'join'] });
  });

  it('takes an edge whose expression is true in the context of the moment', async () => {
    const spec = chain([transform('a', '1')], { inputs: [{ name: 'n', type: 'integer' }] });
    spec.nodes.push(transform('big', '2'), transform('small', '3'));
    spec.edges!.push(
      { from: 'a', to: 'big', condition: 'nodes.a.output > inputs.n' },
      { from: 'a', to: 'small', condition: 'nodes.a.output <= inputs.n' },
    );
    const graph = graphOf(spec, { inputs: { n: 5 } });
    await graph.advance();
    graph.settle('a', 'succeeded', 9);
    expect(await graph.advance()).to.deep.equal({ ready: ['big'], skipped: ['small'] });
  });

  it('rejects with the ExpressionError of an edge condition that fails', async () => {
    const spec = chain([transform('a', '1'), transform('b', '2')]);
    spec.edges![1]!.condition = 'nodes.a.output + "x"';
    const graph = graphOf(spec);
    await graph.advance();
    graph.settle('a', 'succeeded', 1);
    const error = await graph.advance().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ExpressionError).and.include({ path: 'edges[1].condition' });
  });

  it('enters at one trigger and skips the others', async () => {
    const graph = graphOf(validExampleSpec(), { triggerNodeId: 'hook', inputs: { repo: 'acme/app', limit: 10 } });
    expect(await graph.advance()).to.deep.equal({ ready: ['fetch'], skipped: ['start', 'nightly'] });
    expect(graph.context().trigger).to.deep.equal({ by: 'ada' });
    expect(graph.settledOutput('hook')).to.deep.equal({ by: 'ada' });
    expect(() => graphOf(validExampleSpec(), { triggerNodeId: 'fetch' })).to.throw(/not a trigger/);
    expect(() => graphOf(validExampleSpec(), { triggerNodeId: 'ghost' })).to.throw(/no node "ghost"/);
  });

  it('gives expressions the inputs, succeeded outputs, trigger and run', async () => {
    const graph = graphOf(diamond(), { inputs: { x: 1 } });
    await graph.advance();
    graph.settle('a', 'succeeded', { v: 1 });
    expect(graph.context()).to.deep.equal({
      inputs: { x: 1 },
      nodes: { start: { output: { by: 'ada' } }, a: { output: { v: 1 } } },
      trigger: { by: 'ada' },
      run: { id: 'run-1', attempt: 1 },
    });
  });

  it('restored from checkpoints, returns exactly what runs next and never a settled node', async () => {
    const spec = routed();
    spec.nodes.push(transform('also', '4'));
    spec.edges!.push({ from: 'route', to: 'also' });
    const restored = graphOf(spec);
    restored.settle('route', 'succeeded', { branch: 'no' });
    restored.settle('yes', 'skipped');
    restored.settle('after_yes', 'skipped');
    restored.settle('no', 'succeeded', 'N');
    // `also` was running when the worker died: it runs again; `join` is now ready too.
    expect(await restored.advance()).to.deep.equal({ ready: ['also', 'join'], skipped: [] });
    expect(await restored.advance()).to.deep.equal({ ready: [], skipped: [] });
  });

  it('reports the other triggers as skipped only when no checkpoint already says so', async () => {
    const graph = graphOf(validExampleSpec(), { inputs: { repo: 'a/b', limit: 1 } });
    graph.settle('nightly', 'skipped');
    expect(await graph.advance()).to.deep.equal({ ready: ['fetch'], skipped: ['hook'] });
    expect(() => graph.settle('hook', 'succeeded', null)).to.throw(/already skipped/);
  });

  it('never returns a node twice when advances overlap', async () => {
    const graph = graphOf(diamond());
    const [first, second] = await Promise.all([graph.advance(), graph.advance()]);
    expect([...first.ready, ...second.ready]).to.deep.equal(['a', 'b']);
  });
});
