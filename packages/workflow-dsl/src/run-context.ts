import type { JsonValue } from '@foundation/connectors';

/**
 * What an expression sees: the run's inputs, the output of every node that succeeded so far (a skipped or
 * unfinished node is absent, so `nodes.x.output` reads as nothing), what the firing trigger delivered,
 * and which run and claim this is.
 */
export interface RunContext {
  inputs: Record<string, JsonValue>;
  nodes: Record<string, { output: JsonValue }>;
  trigger: JsonValue;
  run: { id: string; attempt: number };
}
