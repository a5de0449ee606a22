import { expect } from 'chai';
import {
  chooseBranch,
  compileWorkflow,
  evaluateExpression,
  ExpressionError,
  isValidCron,
  renderTemplate,
  runTransform,
  type CompiledNode,
  type CompiledNodeOf,
  type RunContext,
} from '../src/index.js';
import { chain, transform } from './support/specs.js';

const context: RunContext = {
  inputs: { repo: 'acme/app', limit: 2, tags: ['a', 'b'], empty: '' },
  nodes: { fetch: { output: { status: 200, body: [{ id: 1, title: 'x' }, { id: 2, title: 'y' }] } } },
  trigger: { by: 'ada' },
  run: { id: 'run-1', attempt: 1 },
};

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function nodeOf<T extends CompiledNode['type']>(type: T, node: CompiledNode): CompiledNodeOf<T> {
  expect(node.type).to.equal(type);
  return node as CompiledNodeOf<T>;
}

describe('evaluateExpression()', () => {
  it('reads inputs, node outputs, the trigger and the run', async () => {
    expect(await evaluateExpression('inputs.repo & " by " & trigger.by & " in " & run.id', context)).to.equal('acme/app by ada in run-1');
    expect(await evaluateExpression('$count(nodes.fetch.output.body)', context)).to.equal(2);
  });

  it('returns plain JSON: sequences become plain arrays, objects get a normal prototype, nothing becomes null', async () => {
    const titles = await evaluateExpression('nodes.fetch.output.body.title', context);
    expect(titles).to.deep.equal(['x', 'y']);
    expect(Object.keys(titles as object)).to.deep.equal(['0', '1']);
    const object = await evaluateExpression("{ 'n': $count(inputs.tags), 'gone': inputs.nothing }", context);
    expect(object).to.deep.equal({ n: 2 });
    expect(Object.getPrototypeOf(object)).to.equal(Object.prototype);
    expect(await evaluateExpression('inputs.nothing', context)).to.equal(null);
    const nested = await evaluateExpression('[inputs.tags.[$]]', context);
    expect(JSON.parse(JSON.stringify(nested))).to.deep.equal(nested);
  });

  it('turns runtime errors into ExpressionErrors, never raw JSONata errors', async () => {
    const error = await rejectionOf(evaluateExpression('inputs.repo + 1', context));
    expect(error).to.be.instanceOf(ExpressionError);
    expect(error).to.include({ code: 'T2001', retryable: false, path: 'expression' });
    expect((error as ExpressionError).message).to.match(/must evaluate to a number/);
  });

  it('refuses a result that is a function', async () => {
    const error = await rejectionOf(evaluateExpression('function($x) { $x }', context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ code: 'NOT_JSON' });
  });

  it('stops runaway expressions with the JSONata guards', async () => {
    const started = Date.now();
    const error = await rejectionOf(evaluateExpression('($loop := function($n) { $loop($n + 1) }; $loop(0))', context));
    expect(error).to.be.instanceOf(ExpressionError);
    expect((error as ExpressionError).code).to.be.oneOf(['D1011', 'D1012']);
    expect(Date.now() - started).to.be.below(5_000);
  });

  it('reports a syntax error as an ExpressionError', async () => {
    const error = await rejectionOf(evaluateExpression('1 +', context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ code: 'S0207' });
  });
});

describe('renderTemplate()', () => {
  it('gives a string that is exactly one {{ expr }} the value with its type', async () => {
    expect(await renderTemplate('{{ inputs.limit }}', context)).to.equal(2);
    expect(await renderTemplate('  {{ nodes.fetch.output.body[0] }} ', context)).to.deep.equal({ id: 1, title: 'x' });
    expect(await renderTemplate('{{ inputs.tags }}', context)).to.deep.equal(['a', 'b']);
    expect(await renderTemplate('{{ inputs.nothing }}', context)).to.equal(null);
  });

  it('interpolates text: strings as they are, other values as JSON, nothing as ""', async () => {
    expect(await renderTemplate('repo {{ inputs.repo }}, limit {{ inputs.limit }}', context)).to.equal('repo acme/app, limit 2');
    expect(await renderTemplate('tags={{ inputs.tags }} first={{ nodes.fetch.output.body[0] }}', context)).to.equal(
      'tags=["a","b"] first={"id":1,"title":"x"}',
    );
    expect(await renderTemplate('[{{ inputs.nothing }}] [{{ inputs.empty }}]', context)).to.equal('[] []');
  });

  it('renders through objects and arrays, leaving other values as they are', async () => {
    const rendered = await renderTemplate(
      {
        url: 'https://example.com/{{ inputs.repo }}',
        query: { per_page: '{{ inputs.limit }}', state: 'open' },
        labels: ['bug', '{{ inputs.tags[1] }}'],
        n: 1,
        ok: true,
        none: null,
      },
      context,
    );
    expect(rendered).to.deep.equal({
      url: 'https://example.com/acme/app',
      query: { per_page: 2, state: 'open' },
      labels: ['bug', 'b'],
      n: 1,
      ok: true,
      none: null,
    });
  });

  it('ends an expression at the first }} outside its strings and braces', async () => {
    expect(await renderTemplate("{{ {'a': {'b': 1}} }}", context)).to.deep.equal({ a: { b: 1 } });
    expect(await renderTemplate('{{ "}}" }} and {{ \'{{\' }}', context)).to.equal('}} and {{');
  });

  it('hands out a fresh value each time', async () => {
    const first = (await renderTemplate({ fixed: { a: 1 } }, context)) as { fixed: { a: number } };
    first.fixed.a = 2;
    expect(await renderTemplate({ fixed: { a: 1 } }, context)).to.deep.equal({ fixed: { a: 1 } });
  });

  it('keeps a "__proto__" key as data', async () => {
    const rendered = await renderTemplate(JSON.parse('{"__proto__": {"polluted": "{{ 1 }}"}}') as { [key: string]: string }, context);
    expect(JSON.stringify(rendered)).to.equal('{"__proto__":{"polluted":1}}');
    expect(Object.getPrototypeOf(rendered)).to.equal(Object.prototype);
  });

  it('reports a failing expression as an ExpressionError at its node and path', async () => {
    const params = { method: 'GET', url: 'https://x/{{ inputs.repo - 1 }}' };
    const call = { id: 'call', type: 'connector.action', config: { connector: 'http', action: 'request', params } } as const;
    const workflow = compileWorkflow(chain([call], { inputs: [{ name: 'repo', type: 'string' }] }));
    const node = nodeOf('connector.action', workflow.node('call'));
    const error = await rejectionOf(renderTemplate(node.config.params, context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ nodeId: 'call', path: 'nodes[1].config.params.url', code: 'T2001' });
  });
});

describe('runTransform()', () => {
  it('outputs the expression value, null for nothing', async () => {
    const nodes = [transform('count', "{ 'n': $count(inputs.tags) }"), transform('none', 'inputs.tags[5]')];
    const workflow = compileWorkflow(chain(nodes, { inputs: [{ name: 'tags', type: 'array' }] }));
    expect(await runTransform(nodeOf('transform', workflow.node('count')), context)).to.deep.equal({ n: 2 });
    expect(await runTransform(nodeOf('transform', workflow.node('none')), context)).to.equal(null);
  });

  it('fails with an ExpressionError naming the node', async () => {
    const workflow = compileWorkflow(chain([transform('bad', '$number("x") + inputs.limit')], { inputs: [{ name: 'limit', type: 'integer' }] }));
    const error = await rejectionOf(runTransform(nodeOf('transform', workflow.node('bad')), context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ nodeId: 'bad', path: 'nodes[1].config.expression' });
    expect((error as Error).message).to.match(/^node bad \(nodes\[1\]\.config\.expression\): /);
  });
});

describe('chooseBranch()', () => {
  const routeIn = (config: Record<string, unknown>) => {
    const inputs = [
      { name: 'limit', type: 'integer' },
      { name: 'empty', type: 'string' },
      { name: 'tags', type: 'array' },
    ] as const;
    const workflow = compileWorkflow(chain([{ id: 'route', type: 'condition', config: config as never }], { inputs: [...inputs] }));
    return nodeOf('condition', workflow.node('route'));
  };

  it('takes the first branch whose when is true', async () => {
    const route = routeIn({
      branches: [
        { name: 'none', when: 'inputs.limit = 0' },
        { name: 'few', when: 'inputs.limit < 5' },
        { name: 'any', when: 'true' },
      ],
    });
    expect(await chooseBranch(route, context)).to.equal('few');
  });

  it('uses JSONata truthiness: "" and nothing are false', async () => {
    const route = routeIn({ branches: [{ name: 'blank', when: 'inputs.empty' }, { name: 'missing', when: 'inputs.tags[9]' }], default: 'other' });
    expect(await chooseBranch(route, context)).to.equal('other');
  });

  it('falls back to the default, and fails with NO_BRANCH without one', async () => {
    expect(await chooseBranch(routeIn({ branches: [{ name: 'big', when: 'inputs.limit > 10' }], default: 'small' }), context)).to.equal('small');
    const error = await rejectionOf(chooseBranch(routeIn({ branches: [{ name: 'big', when: 'inputs.limit > 10' }] }), context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ code: 'NO_BRANCH', nodeId: 'route' });
    expect((error as Error).message).to.match(/no branch matched \(big\) and the condition has no default branch/);
  });

  it('fails with the ExpressionError of a branch that fails', async () => {
    const error = await rejectionOf(chooseBranch(routeIn({ branches: [{ name: 'x', when: 'inputs.limit & $undefinedFn()' }] }), context));
    expect(error).to.be.instanceOf(ExpressionError).and.include({ path: 'nodes[1].config.branches[0].when' });
  });
});

describe('isValidCron()', () => {
  it('accepts 5 fields, or 6 with seconds, in a known time zone', () => {
    expect(isValidCron('0 3 * * *')).to.equal(true);
    expect(isValidCron('*/5 * * * * *', 'Europe/Berlin')).to.equal(true);
    expect(isValidCron('0 3 * *')).to.equal(false);
    expect(isValidCron('0 3 * * *', 'Nowhere/Place')).to.equal(false);
  });
});
