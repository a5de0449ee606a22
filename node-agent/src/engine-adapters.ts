import type { EngineId } from '@foundation/agent-engines';
import type { EngineAdapter } from './engines/engine.js';

/**
 * The adapters of the three engines, loaded only by the commands that run or probe engines, so `--help`,
 * `pair` and `status` start fast.
 */
export async function loadEngineAdapters(): Promise<ReadonlyMap<EngineId, EngineAdapter>> {
  const { createEngineAdapters } = await import('./engines/index.js');
  return createEngineAdapters({});
}
