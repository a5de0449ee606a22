import type { FieldViolation } from '@foundation/kit';
import type { SpecProblem } from '@foundation/workflow-dsl';

/**
 * Problems of a spec (or of run inputs) as request field violations, each at its path under `prefix`
 * when one is given, e.g. "spec.nodes[2].config.action".
 */
export function specViolations(prefix: string, problems: SpecProblem[]): FieldViolation[] {
  return problems.map((p) => ({ field: [prefix, p.path].filter((part) => part !== '').join('.'), description: p.message }));
}
