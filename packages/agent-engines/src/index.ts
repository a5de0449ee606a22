/** A coding-agent CLI the node-agent drives headless. The only ones that exist: there is no hosted executor. */
export interface EngineDescription {
  /** The id sessions, tasks and `agent.run` nodes name. */
  readonly id: string;
  readonly displayName: string;
  /** What the node-agent looks for on its PATH. */
  readonly executable: string;
  readonly description: string;
}

export const ENGINE_CATALOG = [
  {
    id: 'gateway.codex.v2',
    displayName: 'Codex',
    executable: 'codex',
    description: 'OpenAI Codex CLI, driven with `codex exec --json`; follow-up turns resume its thread.',
  },
  {
    id: 'gateway.claude.v2',
    displayName: 'Claude Code',
    executable: 'claude',
    description: 'Anthropic Claude Code, driven with `claude -p --output-format stream-json`; follow-up turns resume its session.',
  },
  {
    id: 'gateway.opencode.v2',
    displayName: 'OpenCode',
    executable: 'opencode',
    description: 'OpenCode, driven with `opencode run --format json`; follow-up turns resume its session.',
  },
] as const satisfies readonly EngineDescription[];

export type EngineId = (typeof ENGINE_CATALOG)[number]['id'];

export const ENGINE_IDS: readonly EngineId[] = ENGINE_CATALOG.map((engine) => engine.id);

export function isEngineId(value: unknown): value is EngineId {
  return (ENGINE_IDS as readonly unknown[]).includes(value);
}

/** The message for an engine that does not exist, listing the ones that do. */
export function unsupportedEngineMessage(engine: string): string {
  return `engine "${engine}" is not supported: use one of ${ENGINE_IDS.join(', ')}`;
}
export { promptViolations, workspaceViolations, type TaskFieldViolation } from './task-input-rules.js';
export { MAX_EVENTS_PER_MESSAGE } from './task-stream-limits.js';
