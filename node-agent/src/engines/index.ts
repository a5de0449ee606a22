import type { EngineId } from '@foundation/agent-engines';
import { ClaudeAdapter } from './claude.js';
import { CodexAdapter } from './codex.js';
import type { EngineAdapter } from './engine.js';
import { OpenCodeAdapter } from './opencode.js';

export type { EngineAdapter, EngineTurn, McpServerCommand } from './engine.js';
export type { EngineAdapterOptions } from './cli-engine-adapter.js';
export { ClaudeAdapter } from './claude.js';
export { CodexAdapter } from './codex.js';
export { OpenCodeAdapter } from './opencode.js';

export interface EngineAdaptersOptions {
  /** An executable per engine (a name on PATH or a path), where the catalog's default name is not it. */
  executables?: Partial<Record<EngineId, string>>;
  /** How long an engine gets to end by itself before SIGKILL; 5 s by default. */
  killGraceMs?: number;
}

/** One adapter per engine of the catalog. */
export function createEngineAdapters(options: EngineAdaptersOptions = {}): Map<EngineId, EngineAdapter> {
  const adapterOptions = (id: EngineId) => ({ executable: options.executables?.[id], killGraceMs: options.killGraceMs });
  const adapters: EngineAdapter[] = [
    new CodexAdapter(adapterOptions('gateway.codex.v2')),
    new ClaudeAdapter(adapterOptions('gateway.claude.v2')),
    new OpenCodeAdapter(adapterOptions('gateway.opencode.v2')),
  ];
  return new Map(adapters.map((adapter) => [adapter.id, adapter]));
}
