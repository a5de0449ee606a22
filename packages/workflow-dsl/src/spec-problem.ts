/** One problem of a spec, as `foundation.workflow.v1.SpecProblem` carries it. */
export interface SpecProblem {
  /** Where, e.g. `nodes[2].config.action` or `edges[0].to`; `""` is the spec itself. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** A location in the spec: property names and array indexes from the root. */
export type SpecPath = readonly (string | number)[];

/** Thrown by `compileWorkflow` for a spec that does not validate; the service maps it to INVALID_ARGUMENT. */
export class WorkflowInvalidError extends Error {
  constructor(readonly problems: readonly SpecProblem[]) {
    super(`invalid workflow spec: ${problems.map((p) => `${p.path || '(spec)'}: ${p.message}`).join('; ')}`);
    this.name = 'WorkflowInvalidError';
  }
}

/** `['nodes', 2, 'config']` → `nodes[2].config`. */
export function formatPath(path: SpecPath): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text === '' ? segment : `${text}.${segment}`;
  }, '');
}

/** `labels[0]` or `auth.kind` (a connector's input path) → `['labels', 0]`, `['auth', 'kind']`. */
export function parsePath(text: string): SpecPath {
  return text
    .split(/\.|(?=\[)/)
    .filter((segment) => segment !== '')
    .map((segment) => (/^\[\d+\]$/.test(segment) ? Number(segment.slice(1, -1)) : segment));
}

/**
 * Collects problems in whatever order the checks find them and hands them back in document order, so a
 * check may run whenever its facts are known (reference checks need the whole graph) without the list
 * reading out of order.
 */
export class ProblemList {
  readonly #found: { path: SpecPath; message: string }[] = [];

  add(path: SpecPath, message: string): void {
    this.#found.push({ path, message });
  }

  get isEmpty(): boolean {
    return this.#found.length === 0;
  }

  /**
   * Sorted by where each path points in `document`: array elements by index, object keys in the order the
   * document writes them, a container before what is inside it. Keys the document lacks (a missing
   * required field) sort after the ones it has, in the order they were found.
   */
  inDocumentOrder(document: unknown): SpecProblem[] {
    return this.#found
      .map((problem, found) => ({ problem, found }))
      .sort((a, b) => compareInDocument(document, a.problem.path, b.problem.path) || a.found - b.found)
      .map(({ problem }) => ({ path: formatPath(problem.path), message: problem.message }));
  }
}

function compareInDocument(document: unknown, a: SpecPath, b: SpecPath): number {
  let container = document;
  for (let depth = 0; depth < Math.min(a.length, b.length); depth += 1) {
    const difference = rankIn(container, a[depth]!) - rankIn(container, b[depth]!);
    if (difference !== 0 || a[depth] !== b[depth]) return difference;
    container = container !== null && typeof container === 'object' ? (container as Record<string | number, unknown>)[a[depth]!] : undefined;
  }
  return a.length - b.length;
}

function rankIn(container: unknown, segment: string | number): number {
  if (typeof segment === 'number') return segment;
  if (container === null || typeof container !== 'object' || Array.isArray(container)) return Number.MAX_SAFE_INTEGER;
  const rank = Object.keys(container).indexOf(segment);
  return rank === -1 ? Number.MAX_SAFE_INTEGER : rank;
}
