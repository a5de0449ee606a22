import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const capacity = () => z.coerce.number().int().min(1, 'must be 1 to 64').max(64, 'must be 1 to 64');

/**
 * The daemon's settings from the environment, each overridden by its command-line flag. The paths of the
 * config and data directories (FOUNDATION_AGENT_CONFIG_DIR, FOUNDATION_AGENT_DATA_DIR) are read by
 * `agent-paths.ts`. `foundation-agent --help` documents every variable; keep the two in step.
 */
const agentSettingsSchema = z.object({
  /** The Foundation server `pair` talks to when --server is not given. */
  FOUNDATION_AGENT_SERVER: z.url().optional(),
  /** Tasks run at once. */
  FOUNDATION_AGENT_CAPACITY: capacity().default(4),
  /** The directory every task's working directory is created under; default `<data dir>/workspaces`. */
  FOUNDATION_AGENT_WORKSPACE_ROOT: z.string().min(1).optional(),
  FOUNDATION_AGENT_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Unacknowledged event bytes one task may buffer on disk before its turn is failed. */
  FOUNDATION_AGENT_OUTBOX_MAX_BYTES: z.coerce.number().int().min(64 * 1024).default(64 * 1024 * 1024),
  /** Longest wait between two connection attempts. */
  FOUNDATION_AGENT_RECONNECT_MAX_DELAY_MS: z.coerce.number().int().min(100).default(30_000),
});

export type AgentSettings = z.output<typeof agentSettingsSchema>;

/** A setting or flag with a bad value: the message names it, and the CLI exits with a usage error. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export function readAgentSettings(env: NodeJS.ProcessEnv): AgentSettings {
  const result = agentSettingsSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new SettingsError(`invalid environment:\n${lines.join('\n')}`);
}

/** Validates a --capacity flag the way FOUNDATION_AGENT_CAPACITY is validated. */
export function parseCapacityFlag(text: string): number {
  const result = capacity().safeParse(text);
  if (!result.success) throw new SettingsError(`--capacity: ${result.error.issues[0]?.message ?? 'invalid'} (got "${text}")`);
  return result.data;
}
