import { createBuiltinCatalog } from '@foundation/connectors';
import { validateWorkflowSpec, type EdgeJson, type NodeJson, type SpecProblem, type WorkflowSpecJson } from '../../src/index.js';

export const catalog = createBuiltinCatalog();

export function problemsOf(spec: unknown): SpecProblem[] {
  return validateWorkflowSpec(spec, { catalog });
}

/** `start` (a manual trigger) followed by `nodes` in a chain, plus any extra edges. */
export function chain(nodes: NodeJson[], extra: Partial<WorkflowSpecJson> & { moreEdges?: EdgeJson[] } = {}): WorkflowSpecJson {
  const { moreEdges = [], ...rest } = extra;
  const ids = ['start', ...nodes.map((node) => node.id)];
  return {
    nodes: [{ id: 'start', type: 'trigger.manual' }, ...nodes],
    edges: [...ids.slice(1).map((id, index) => ({ from: ids[index]!, to: id })), ...moreEdges],
    ...rest,
  };
}

export function transform(id: string, expression: string): NodeJson {
  return { id, type: 'transform', config: { expression } };
}

/** A JSON document with `value` replaced at `path` (dot and [n] segments); for one-field variations. */
export function withValue<T>(document: T, path: string, value: unknown): T {
  const copy = structuredClone(document) as Record<string, unknown>;
  const segments = path.split(/\.|(?=\[)/).map((s) => (s.startsWith('[') ? Number(s.slice(1, -1)) : s));
  let container: Record<string | number, unknown> = copy;
  for (const segment of segments.slice(0, -1)) container = container[segment] as Record<string | number, unknown>;
  const last = segments[segments.length - 1]!;
  if (value === undefined) delete container[last];
  else container[last] = value;
  return copy as T;
}

/** The example of the DSL's design notes: every node type, three triggers, a condition with a default. */
export function exampleSpec(): WorkflowSpecJson {
  return {
    inputs: [
      { name: 'repo', type: 'string', required: true, description: 'owner/name' },
      { name: 'limit', type: 'integer', default: 10 },
    ],
    nodes: [
      { id: 'start', type: 'trigger.manual' },
      { id: 'nightly', type: 'trigger.schedule', config: { cron: '0 3 * * *', timezone: 'Europe/Berlin' } },
      { id: 'hook', type: 'trigger.webhook' },
      {
        id: 'fetch',
        type: 'connector.action',
        name: 'Fetch issues',
        config: {
          connector: 'http',
          action: 'request',
          credential: 'API_TOKEN',
          params: { method: 'GET', url: 'https://example.com/{{ inputs.repo }}/issues' },
        },
        retry: { maxAttempts: 3, initialBackoff: '1s', maxBackoff: '30s', multiplier: 2 },
        timeout: '30s',
      },
      { id: 'count', type: 'transform', config: { expression: "{ 'n': $count(nodes.fetch.output.body) }" } },
      {
        id: 'route',
        type: 'condition',
        config: { branches: [{ name: 'many', when: 'nodes.count.output.n > inputs.limit' }], default: 'few' },
      },
      { id: 'pause', type: 'delay', config: { duration: '5s' } },
      { id: 'fix', type: 'agent.run', config: { engine: 'gateway.codex.v2', prompt: 'Triage {{ inputs.repo }}', workspace: 'repo' } },
    ],
    edges: [
      { from: 'start', to: 'fetch' },
      { from: 'nightly', to: 'fetch' },
      { from: 'hook', to: 'fetch' },
      { from: 'fetch', to: 'count' },
      { from: 'count', to: 'route' },
      { from: 'route', to: 'pause', condition: 'many' },
      { from: 'route', to: 'fix', condition: 'few' },
      { from: 'pause', to: 'fix' },
    ],
    timeout: '10m',
  };
}

/** The example with `repo` defaulted, so its webhook and schedule triggers can start runs: valid. */
export function validExampleSpec(): WorkflowSpecJson {
  const spec = exampleSpec();
  spec.inputs![0] = { name: 'repo', type: 'string', required: true, default: 'acme/app' };
  return spec;
}
