import type { FieldViolation } from '@foundation/kit';
import type { NodeFacts } from '@foundation/contracts';

const MAX_FACT_LENGTH = 255;

/** What a node says about itself must be present and short: it is shown to people and stored per node. */
export function nodeFactsViolations(field: string, facts: NodeFacts | undefined): FieldViolation[] {
  if (!facts) return [{ field, description: 'is required: the node’s hostname, os, arch and agent_version' }];
  const violations: FieldViolation[] = [];
  if (facts.hostname.trim() === '') violations.push({ field: `${field}.hostname`, description: 'is required' });
  for (const [name, value] of [
    ['hostname', facts.hostname],
    ['os', facts.os],
    ['arch', facts.arch],
    ['agent_version', facts.agentVersion],
  ] as const) {
    if (value.length > MAX_FACT_LENGTH) violations.push({ field: `${field}.${name}`, description: `must be at most ${MAX_FACT_LENGTH} characters` });
  }
  return violations;
}
