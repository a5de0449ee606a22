import { expect } from 'chai';
import { CompiledWorkflowCache, compileWorkflow, resolveRunInputs, WorkflowInvalidError, type CompiledWorkflow } from '../src/index.js';
import { chain, transform, validExampleSpec } from './support/specs.js';

describe('compileWorkflow()', () => {
  const workflow = compileWorkflow(validExampleSpec());

  it('types each node with its parsed config, durations in milliseconds', () => {
    const fetch = workflow.node('fetch');
    expect(fetch).to.include({ id: 'fetch', index: 3, type: 'connector.action', name: 'Fetch issues', timeoutMs: 30_000 });
    expect(fetch.type === 'connector.action' && fetch.config).to.include({
      connector: 'http',
      action: 'request',
      actionRef: 'http.request',
      credential: 'API_TOKEN',
    });
    expect(fetch.retry).to.deep.equal({ maxAttempts: 3, initialBackoffMs: 1_000, maxBackoffMs: 30_000, multiplier: 2 });
    const pause = workflow.node('pause');
    expect(pause.type === 'delay' && pause.config).to.deep.equal({ durationMs: 5_000 });
    expect(workflow.runTimeoutMs).to.equal(600_000);
  });

  it('fills in the defaults: one attempt, 5m per attempt, 1h per run', () => {
    const plain = compileWorkflow(chain([transform('a', '1'), { ...transform('b', '2'), retry: { maxAttempts: 4 } }]));
    expect(plain.node('a').retry).to.deep.equal({ maxAttempts: 1, initialBackoffMs: 1_000, maxBackoffMs: 60_000, multiplier: 2 });
    expect(plain.node('b').retry).to.deep.equal({ maxAttempts: 4, initialBackoffMs: 1_000, maxBackoffMs: 60_000, multiplier: 2 });
    expect(plain.node('a').timeoutMs).to.equal(300_000);
    expect(plain.runTimeoutMs).to.equal(3_600_000);
  });

  it('lists neighbours, incoming edges and a topological order', () => {
    const fix = workflow.node('fix');
    expect(fix.predecessors).to.deep.equal(['route', 'pause']);
    expect(fix.incoming.map((edge) => edge.condition)).to.deep.equal([{ kind: 'branch', branch: 'few' }, { kind: 'always' }]);
    expect(workflow.node('fetch').predecessors).to.deep.equal(['start', 'nightly', 'hook']);
    expect(workflow.node('route').successors).to.deep.equal(['pause', 'fix']);
    expect(workflow.order).to.deep.equal(['start', 'nightly', 'hook', 'fetch', 'count', 'route', 'pause', 'fix']);
  });

  it('lists the triggers by type', () => {
    expect(workflow.manualTriggers()).to.deep.equal(['start']);
    expect(workflow.webhookTriggers()).to.deep.equal(['hook']);
    expect(workflow.scheduleTriggers()).to.deep.equal([{ nodeId: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin' }]);
    expect(compileWorkflow({ nodes: [{ id: 's', type: 'trigger.schedule', config: { cron: '0 * * * *' } }] }).scheduleTriggers()).to.deep.equal([
      { nodeId: 's', cron: '0 * * * *', timezone: 'UTC' },
    ]);
    expect(workflow.isTrigger('hook')).to.equal(true);
    expect(workflow.isTrigger('fetch')).to.equal(false);
    expect(workflow.isTrigger('ghost')).to.equal(false);
  });

  it('parses each expression once, for every run of the compiled workflow', () => {
    const count = workflow.node('count');
    expect(count).to.equal(workflow.node('count'));
    expect(count.type === 'transform' && count.config.expression.source).to.equal("{ 'n': $count(nodes.fetch.output.body) }");
  });

  it('throws WorkflowInvalidError with every problem for a spec that does not validate', () => {
    const error = (() => {
      try {
        compileWorkflow(chain([transform('a', '1 +')], { timeout: '2d' }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).to.be.instanceOf(WorkflowInvalidError);
    expect((error as WorkflowInvalidError).problems.map((p) => p.path)).to.deep.equal(['nodes[1].config.expression', 'timeout']);
  });
});

describe('CompiledWorkflowCache', () => {
  it('compiles a version once and drops the least recently used beyond its bound', () => {
    const cache = new CompiledWorkflowCache(2);
    const spec = chain([transform('a', '1')]);
    const v1 = cache.compile('w', 1, spec);
    expect(cache.compile('w', 1, spec)).to.equal(v1);
    const v2 = cache.compile('w', 2, spec);
    cache.compile('w', 1, spec);
    cache.compile('w', 3, spec);
    expect(cache.compile('w', 1, spec)).to.equal(v1);
    expect(cache.compile('w', 2, spec)).not.to.equal(v2);
  });
});

describe('resolveRunInputs()', () => {
  const workflow: CompiledWorkflow = compileWorkflow(
    chain([], {
      inputs: [
        { name: 'repo', type: 'string', required: true },
        { name: 'limit', type: 'integer', default: 10 },
        { name: 'labels', type: 'array', default: ['bug'] },
        { name: 'dry', type: 'boolean' },
      ],
    }),
  );

  it('applies defaults to what is not supplied (null counts as not supplied)', () => {
    expect(resolveRunInputs(workflow, { repo: 'acme/app', limit: null })).to.deep.equal({
      inputs: { repo: 'acme/app', limit: 10, labels: ['bug'] },
      problems: [],
    });
    const { inputs } = resolveRunInputs(workflow, { repo: 'a' });
    (inputs['labels'] as string[]).push('changed');
    expect(resolveRunInputs(workflow, { repo: 'a' }).inputs['labels']).to.deep.equal(['bug']);
  });

  it('reports wrong types, missing required inputs and undeclared names at inputs.<name>', () => {
    expect(resolveRunInputs(workflow, { limit: 1.5, dry: 'yes', extra: 1 }).problems).to.deep.equal([
      { path: 'inputs.repo', message: 'is required (string)' },
      { path: 'inputs.limit', message: 'must be an integer' },
      { path: 'inputs.dry', message: 'must be a boolean' },
      { path: 'inputs.extra', message: 'is not an input of this workflow' },
    ]);
  });

  it('reports inputs that are not an object at inputs', () => {
    for (const supplied of [[], 'x', 3]) {
      expect(resolveRunInputs(workflow, supplied).problems).to.deep.equal([{ path: 'inputs', message: 'must be an object of input values' }]);
    }
  });
});
