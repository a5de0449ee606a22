import { expect } from 'chai';
import type { NodeJson } from '../src/index.js';
import { chain, exampleSpec, problemsOf, transform, validExampleSpec, withValue } from './support/specs.js';

/** Asserts that `spec` has exactly one problem, at `path`, saying something like `message`. */
function expectOnlyProblem(spec: unknown, path: string, message: RegExp): void {
  const problems = problemsOf(spec);
  expect(problems.map((p) => p.path), JSON.stringify(problems)).to.deep.equal([path]);
  expect(problems[0]!.message).to.match(message);
}

const http = (params: Record<string, unknown>): NodeJson => ({
  id: 'call',
  type: 'connector.action',
  config: { connector: 'http', action: 'request', params: params as never },
});

describe('validateWorkflowSpec()', () => {
  it('accepts a spec using every node type', () => {
    expect(problemsOf(validExampleSpec())).to.deep.equal([]);
  });

  describe('the spec', () => {
    it('must be an object', () => {
      for (const junk of [null, 5, 'spec', [], true]) expectOnlyProblem(junk, '', /must be an object/);
    });

    it('has no fields besides inputs, nodes, edges and timeout', () => {
      expectOnlyProblem({ ...chain([]), name: 'x' }, 'name', /is not a field of a workflow spec/);
    });

    it('needs 1 to 200 nodes', () => {
      expectOnlyProblem({ edges: [] }, 'nodes', /is required/);
      expectOnlyProblem({ nodes: [] }, 'nodes', /must have 1 to 200 nodes; it has 0/);
      const many = chain(Array.from({ length: 200 }, (_, i) => transform(`t${i}`, '1')));
      expectOnlyProblem(many, 'nodes', /must have 1 to 200 nodes; it has 201/);
    });

    it('has a run timeout of at most 24h', () => {
      expectOnlyProblem(chain([], { timeout: '25h' }), 'timeout', /must be at most 24h/);
      expectOnlyProblem(chain([], { timeout: '10 minutes' }), 'timeout', /must be a duration/);
    });

    it('needs a trigger node', () => {
      expectOnlyProblem({ nodes: [transform('a', '1')] }, 'nodes', /has no trigger/);
    });
  });

  describe('nodes', () => {
    it('have ids that are identifiers', () => {
      expectOnlyProblem(chain([transform('1st', '1')]), 'nodes[1].id', /must be 1 to 64 letters, digits or _/);
      expectOnlyProblem(chain([transform('a'.repeat(65), '1')]), 'nodes[1].id', /must be 1 to 64/);
    });

    it('have unique ids', () => {
      const spec = chain([transform('a', '1'), transform('b', '2')]);
      spec.nodes[2]!.id = 'a';
      spec.edges = [{ from: 'start', to: 'a' }];
      expectOnlyProblem(spec, 'nodes[2].id', /is the id of an earlier node/);
    });

    it('have a known type', () => {
      const spec = chain([{ id: 'a', type: 'trigger.cron' as NodeJson['type'] }]);
      expectOnlyProblem(spec, 'nodes[1].type', /must be one of trigger.manual, trigger.webhook, .*agent.run/);
    });

    it('have no unknown fields', () => {
      expectOnlyProblem(withValue(chain([]), 'nodes[0].cofnig', {}), 'nodes[0].cofnig', /is not a field of a node \(it has id, type/);
    });

    it('have names of at most 200 characters', () => {
      expectOnlyProblem(chain([{ ...transform('a', '1'), name: 'x'.repeat(201) }]), 'nodes[1].name', /at most 200 characters/);
    });

    it('have an attempt timeout from 1ms to 24h', () => {
      expectOnlyProblem(chain([{ ...transform('a', '1'), timeout: '0s' }]), 'nodes[1].timeout', /longer than 0/);
      expectOnlyProblem(chain([{ ...transform('a', '1'), timeout: '2d' }]), 'nodes[1].timeout', /at most 24h/);
    });

    it('have a retry policy with 1 to 10 attempts, durations and a multiplier from 1 to 10', () => {
      const retried = (retry: object) => chain([{ ...transform('a', '1'), retry } as NodeJson]);
      expectOnlyProblem(retried({ maxAttempts: 11 }), 'nodes[1].retry.maxAttempts', /integer from 1 to 10/);
      expectOnlyProblem(retried({ maxAttempts: 2.5 }), 'nodes[1].retry.maxAttempts', /integer from 1 to 10/);
      expectOnlyProblem(retried({ initialBackoff: '1s' }), 'nodes[1].retry.maxAttempts', /is required/);
      expectOnlyProblem(retried({ maxAttempts: 2, initialBackoff: 'soon' }), 'nodes[1].retry.initialBackoff', /must be a duration/);
      expectOnlyProblem(retried({ maxAttempts: 2, maxBackoff: '25h' }), 'nodes[1].retry.maxBackoff', /at most 24h/);
      expectOnlyProblem(retried({ maxAttempts: 2, multiplier: 11 }), 'nodes[1].retry.multiplier', /number from 1 to 10/);
      expectOnlyProblem(retried({ maxAttempts: 2, jitter: true }), 'nodes[1].retry.jitter', /not a field of a retry policy/);
      expect(problemsOf(retried({ maxAttempts: 2, multiplier: 0 }))).to.deep.equal([]);
    });

    it('are reachable from a trigger', () => {
      const spec = chain([transform('a', '1')]);
      spec.nodes.push(transform('island', '2'));
      expectOnlyProblem(spec, 'nodes[2]', /is not reachable from any trigger/);
    });
  });

  describe('node configs', () => {
    it('reject unknown keys, also on triggers', () => {
      const manual = withValue(chain([]), 'nodes[0].config', { x: 1 });
      expectOnlyProblem(manual, 'nodes[0].config.x', /is not a field of a trigger.manual config \(it has none\)/);
      expectOnlyProblem(chain([{ ...transform('a', '1'), config: { expression: '1', lang: 'js' } }]), 'nodes[1].config.lang', /not a field/);
    });

    it('report missing and mistyped keys', () => {
      expectOnlyProblem(chain([{ id: 'a', type: 'transform' }]), 'nodes[1].config.expression', /is required/);
      expectOnlyProblem(chain([{ id: 'a', type: 'delay', config: { duration: 5 } }]), 'nodes[1].config.duration', /must be a string/);
      expectOnlyProblem(chain([{ id: 'a', type: 'delay', config: [] as never }]), 'nodes[1].config', /must be an object/);
    });

    it('limit a delay to 24h', () => {
      expectOnlyProblem(chain([{ id: 'a', type: 'delay', config: { duration: '25h' } }]), 'nodes[1].config.duration', /at most 24h/);
      expect(problemsOf(chain([{ id: 'a', type: 'delay', config: { duration: '0s' } }]))).to.deep.equal([]);
    });

    it('need a 5-field cron (or 6 with seconds) in an IANA time zone for a schedule', () => {
      const schedule = (config: Record<string, string>) => ({ nodes: [{ id: 's', type: 'trigger.schedule', config }] });
      expect(problemsOf(schedule({ cron: '*/10 * * * * *' }))).to.deep.equal([]);
      expect(problemsOf(schedule({ cron: '0 9 * * MON-FRI', timezone: 'America/New_York' }))).to.deep.equal([]);
      expectOnlyProblem(schedule({ cron: '* * *' }), 'nodes[0].config.cron', /must have 5 fields .* it has 3/);
      expectOnlyProblem(schedule({ cron: '61 * * * *' }), 'nodes[0].config.cron', /not a valid cron expression: .*0-59/);
      expectOnlyProblem(schedule({ cron: '@daily' }), 'nodes[0].config.cron', /must have 5 fields/);
      expectOnlyProblem(schedule({ cron: '0 3 * * *', timezone: 'Mars/Olympus' }), 'nodes[0].config.timezone', /IANA time zone/);
      expectOnlyProblem(schedule({}), 'nodes[0].config.cron', /is required/);
    });

    it('need an agent.run engine of the three gateway engines, and a prompt', () => {
      const agent = (config: Record<string, string>) => chain([{ id: 'a', type: 'agent.run', config }]);
      expectOnlyProblem(
        agent({ engine: 'openai.gpt', prompt: 'hi' }),
        'nodes[1].config.engine',
        /must be one of gateway.codex.v2, gateway.claude.v2, gateway.opencode.v2/,
      );
      expectOnlyProblem(agent({ engine: 'gateway.claude.v2' }), 'nodes[1].config.prompt', /is required/);
    });
  });

  describe('connector.action nodes', () => {
    it('name a connector of the catalog', () => {
      const spec = chain([{ id: 'a', type: 'connector.action', config: { connector: 'ftp', action: 'put' } }]);
      expectOnlyProblem(spec, 'nodes[1].config.connector', /is not a connector; the catalog has http, slack, github/);
    });

    it('name an action of that connector', () => {
      const spec = chain([{ id: 'a', type: 'connector.action', config: { connector: 'slack', action: 'send' } }]);
      expectOnlyProblem(spec, 'nodes[1].config.action', /is not an action of slack; it has postMessage/);
    });

    it('name a credential when the connector cannot work without one', () => {
      const params = { owner: 'acme', repo: 'app', title: 'Broken' };
      const github = (config: Record<string, unknown>) =>
        chain([{ id: 'a', type: 'connector.action', config: { connector: 'github', action: 'createIssue', params, ...config } as never }]);
      expectOnlyProblem(github({}), 'nodes[1].config.credential', /is required: github needs a secret/);
      expectOnlyProblem(github({ credential: '' }), 'nodes[1].config.credential', /is required/);
      expectOnlyProblem(github({ credential: 'my token!' }), 'nodes[1].config.credential', /must be a secret name/);
      expect(problemsOf(github({ credential: 'GITHUB_TOKEN' }))).to.deep.equal([]);
      // http's credential is optional.
      expect(problemsOf(chain([http({ method: 'GET', url: 'https://example.com' })]))).to.deep.equal([]);
    });

    it('have params that fit the action input schema', () => {
      expectOnlyProblem(chain([http({ method: 'FETCH', url: 'https://example.com' })]), 'nodes[1].config.params.method', /must be one of GET/);
      expectOnlyProblem(chain([http({ method: 'GET' })]), 'nodes[1].config.params.url', /is required/);
      expectOnlyProblem(chain([http({ method: 'GET', url: 'https://x', timeoutMs: 5 })]), 'nodes[1].config.params.timeoutMs', /is not allowed/);
      expectOnlyProblem(chain([http([] as never)]), 'nodes[1].config.params', /must be an object/);
    });

    it('leave template strings unchecked but keep every other problem, unknown templated keys included', () => {
      const templated = http({ method: '{{ "GET" }}', url: '{{ "https://" & "example.com" }}', query: '{{ {"a": 1} }}' });
      expect(problemsOf(chain([templated]))).to.deep.equal([]);
      expectOnlyProblem(chain([http({ method: 'GET', url: '{{ "x" }}', extra: '{{ 1 }}' })]), 'nodes[1].config.params.extra', /is not allowed/);
      expectOnlyProblem(chain([http({ method: 'NOPE', url: 'https://x/{{ 1 }}' })]), 'nodes[1].config.params.method', /must be one of/);
      expectOnlyProblem(chain([http({ url: 'https://x/{{ 1 }}' })]), 'nodes[1].config.params.method', /is required/);
    });
  });

  describe('condition nodes', () => {
    const condition = (config: Record<string, unknown>): NodeJson => ({ id: 'route', type: 'condition', config: config as never });

    it('need branches, each with a unique non-empty name and a when', () => {
      expectOnlyProblem(chain([condition({ default: 'x' })]), 'nodes[1].config.branches', /is required/);
      expectOnlyProblem(chain([condition({ branches: [] })]), 'nodes[1].config.branches', /at least one branch/);
      expectOnlyProblem(chain([condition({ branches: [{ name: '', when: 'true' }] })]), 'nodes[1].config.branches[0].name', /is required/);
      expectOnlyProblem(chain([condition({ branches: [{ name: 'a' }] })]), 'nodes[1].config.branches[0].when', /is required/);
      expectOnlyProblem(
        chain([condition({ branches: [{ name: 'a', when: 'true' }, { name: 'a', when: 'false' }] })]),
        'nodes[1].config.branches[1].name',
        /earlier branch/,
      );
      expectOnlyProblem(chain([condition({ branches: [{ name: 'a', when: 'true' }], default: 'a' })]), 'nodes[1].config.default', /must differ/);
    });

    it('are left by edges that name one of its branches or its default', () => {
      const spec = chain([condition({ branches: [{ name: 'yes', when: 'true' }], default: 'no' }), transform('after', '1')]);
      spec.edges![1]!.condition = 'maybe';
      expectOnlyProblem(spec, 'edges[1].condition', /must name a branch of route: yes, no/);
      spec.edges![1]!.condition = 'no';
      expect(problemsOf(spec)).to.deep.equal([]);
    });
  });

  describe('edges', () => {
    it('join existing nodes', () => {
      expectOnlyProblem(chain([], { edges: [{ from: 'start', to: 'ghost' }] }), 'edges[0].to', /names no node/);
      const spec = chain([transform('a', '1')], { moreEdges: [{ from: 'ghost', to: 'a' }] });
      expectOnlyProblem(spec, 'edges[1].from', /names no node; there is no node with id ghost/);
    });

    it('do not loop on one node', () => {
      expectOnlyProblem(chain([transform('a', '1')], { moreEdges: [{ from: 'a', to: 'a' }] }), 'edges[1]', /leads from a back to itself/);
    });

    it('are not repeated', () => {
      const twice = chain([transform('a', '1')], { moreEdges: [{ from: 'start', to: 'a' }] });
      expectOnlyProblem(twice, 'edges[1]', /repeats an earlier edge from start to a/);
    });

    it('do not lead into a trigger', () => {
      const spec = chain([transform('a', '1')], { moreEdges: [{ from: 'a', to: 'start' }] });
      expectOnlyProblem(spec, 'edges[1].to', /leads into the trigger start/);
    });

    it('form no cycle: reported once, at the edge closing it, naming its nodes', () => {
      const spec = chain([transform('a', '1'), transform('b', '2'), transform('c', '3')], { moreEdges: [{ from: 'c', to: 'a' }] });
      expectOnlyProblem(spec, 'edges[3]', /closes a cycle a → b → c → a/);
    });

    it('have conditions that are valid expressions', () => {
      const spec = chain([transform('a', '1')]);
      spec.edges![0]!.condition = 'inputs.x >';
      spec.inputs = [{ name: 'x', type: 'number' }];
      expectOnlyProblem(spec, 'edges[0].condition', /is not a valid expression: .*position/);
    });

    it('have no unknown fields', () => {
      expectOnlyProblem(withValue(chain([transform('a', '1')]), 'edges[0].label', 'go'), 'edges[0].label', /not a field of an edge/);
    });
  });

  describe('expressions', () => {
    it('parse, with the position of a syntax error', () => {
      expectOnlyProblem(
        chain([transform('a', '1 +')]),
        'nodes[1].config.expression',
        /is not a valid expression: Unexpected end of expression \(at position 3\)/,
      );
      expectOnlyProblem(
        chain([{ id: 'c', type: 'condition', config: { branches: [{ name: 'x', when: '(((' }] } }]),
        'nodes[1].config.branches[0].when',
        /is not a valid expression/,
      );
    });

    it('parse inside templates, each at its string', () => {
      const broken = chain([http({ method: 'GET', url: 'https://x/{{ 1 + }}' })]);
      expectOnlyProblem(broken, 'nodes[1].config.params.url', /is not a valid template: \{\{ 1 \+ \}\}: /);
      expectOnlyProblem(chain([http({ method: 'GET', url: 'https://x/{{ inputs' })]), 'nodes[1].config.params.url', /without a closing \}\}/);
      const agent: NodeJson = { id: 'a', type: 'agent.run', config: { engine: 'gateway.codex.v2', prompt: 'Do {{ ) }}' } };
      expectOnlyProblem(chain([agent]), 'nodes[1].config.prompt', /is not a valid template/);
    });

    it('read only declared inputs', () => {
      const undeclared = chain([transform('a', 'inputs.missing')]);
      expectOnlyProblem(undeclared, 'nodes[1].config.expression', /reads inputs.missing, but no input missing is declared/);
      expect(problemsOf(chain([transform('a', 'inputs.x')], { inputs: [{ name: 'x', type: 'string' }] }))).to.deep.equal([]);
    });

    it('read only nodes upstream of where they run', () => {
      const spec = chain([transform('a', 'nodes.b.output'), transform('b', 'nodes.a.output')]);
      expectOnlyProblem(spec, 'nodes[1].config.expression', /reads nodes.b, but b is not upstream of node a/);
      expectOnlyProblem(chain([transform('a', '$$.nodes.ghost.output')]), 'nodes[1].config.expression', /there is no node ghost/);
      expectOnlyProblem(chain([transform('a', 'nodes.a.output')]), 'nodes[1].config.expression', /a is not upstream of node a/);
      expectOnlyProblem(chain([http({ method: 'GET', url: 'https://x/{{ nodes.call.output }}' })]), 'nodes[1].config.params.url', /not upstream/);
    });

    it('on an edge, read its from node and what is upstream of it', () => {
      const spec = chain([transform('a', '1'), transform('b', '2')]);
      spec.edges![2] = { from: 'a', to: 'b', condition: 'nodes.a.output = 1 and nodes.start.output' };
      spec.edges!.splice(1, 1);
      expect(problemsOf(spec)).to.deep.equal([]);
      spec.edges![1]!.condition = 'nodes.b.output';
      expectOnlyProblem(spec, 'edges[1].condition', /b is not upstream of this edge's from node a/);
    });

    it('are not confused by names read from other values than the run context', () => {
      const expression = 'inputs.items[nodes = 1].nodes.x & $count(inputs.items.inputs) & $map(inputs.items, function($v) { $v.nodes.y })';
      const spec = chain([transform('a', expression)], { inputs: [{ name: 'items', type: 'array' }] });
      expect(problemsOf(spec)).to.deep.equal([]);
    });
  });

  describe('inputs', () => {
    it('have identifier names, unique', () => {
      expectOnlyProblem(chain([], { inputs: [{ name: 'my-input', type: 'string' }] }), 'inputs[0].name', /must be 1 to 64 letters/);
      const twice = chain([], { inputs: [{ name: 'a', type: 'string' }, { name: 'a', type: 'number' }] });
      expectOnlyProblem(twice, 'inputs[1].name', /is declared twice/);
    });

    it('have one of the six types', () => {
      const float = chain([], { inputs: [{ name: 'a', type: 'float' as never }] });
      expectOnlyProblem(float, 'inputs[0].type', /must be one of string, number, integer, boolean, object, array/);
      expectOnlyProblem(chain([], { inputs: [{ name: 'a' } as never] }), 'inputs[0].type', /is required/);
    });

    it('have a default of their type', () => {
      const cases: [string, unknown, RegExp][] = [
        ['integer', 1.5, /must be an integer/],
        ['string', 3, /must be a string/],
        ['object', [], /must be an object/],
        ['array', {}, /must be an array/],
        ['boolean', 'true', /must be a boolean/],
      ];
      for (const [type, value, message] of cases) {
        expectOnlyProblem(chain([], { inputs: [{ name: 'a', type: type as never, default: value as never }] }), 'inputs[0].default', message);
      }
      expect(problemsOf(chain([], { inputs: [{ name: 'a', type: 'number', default: null as never }] }))).to.deep.equal([]);
    });

    it('that are required have a default when a webhook or schedule can start the run', () => {
      const problems = problemsOf(exampleSpec());
      expect(problems.map((p) => p.path)).to.deep.equal(['nodes[1]', 'nodes[2]']);
      expect(problems[0]!.message).to.match(/is a trigger.schedule, which starts runs without inputs, but repo is required with no default/);
      expect(problems[1]!.message).to.match(/is a trigger.webhook/);
    });
  });

  it('lists every problem in document order, whenever each was found', () => {
    const spec = {
      timeout: 'forever',
      nodes: [
        { id: 'start', type: 'trigger.manual' },
        { id: 'a', type: 'transform', config: { expression: 'nodes.b.output' }, timeout: 'x' },
        { id: 'b', type: 'nope' },
      ],
      edges: [
        { from: 'start', to: 'a' },
        { from: 'a', to: 'ghost' },
      ],
      inputs: [{ name: '', type: 'string' }],
    };
    expect(problemsOf(spec).map((p) => p.path)).to.deep.equal([
      'timeout',
      'nodes[1].config.expression',
      'nodes[1].timeout',
      'nodes[2]',
      'nodes[2].type',
      'edges[1].to',
      'inputs[0].name',
    ]);
  });

  it('never throws, whatever it is given', () => {
    const junk: unknown[] = [null, undefined, 0, -1, 1e308, NaN, '', 'x', '{{', true, [], {}, [null], { a: { b: [] } }, [[[]]]];
    let seed = 7;
    const pick = <T>(items: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return items[seed % items.length]!;
    };
    const mutate = (value: unknown, depth: number): unknown => {
      if (depth > 4 || pick([true, false, false])) return pick(junk);
      if (Array.isArray(value)) return value.map((item) => mutate(item, depth + 1));
      if (value !== null && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, pick([true, false]) ? mutate(item, depth + 1) : item]));
      }
      return pick(junk);
    };
    for (let round = 0; round < 500; round += 1) {
      const spec = mutate(validExampleSpec(), 0);
      const problems = problemsOf(spec);
      expect(problems).to.be.an('array');
      for (const problem of problems) expect(problem).to.have.all.keys('path', 'message');
    }
    for (const value of junk) expect(problemsOf({ nodes: value, edges: value, inputs: value, timeout: value })).to.be.an('array');
  });
});
