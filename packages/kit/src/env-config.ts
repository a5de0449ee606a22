import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A config value written as a duration ("30s"), compiled to milliseconds. */
export const durationMs = () =>
  z.string().transform((text, ctx) => {
    try {
      return parseDuration(text);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

/** A config value that is a TCP port. */
export const port = () => z.coerce.number().int().min(0).max(65535);

/** Thrown when the environment does not satisfy a process's config schema; the message names each variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates a process's environment once at start. `schema` is keyed by environment variable name, so a
 * bad value is reported with the variable a person has to fix.
 */
export function parseEnvConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const value = env[name];
    const shown = value === undefined ? 'not set' : `got ${JSON.stringify(redactIfSecret(name, value))}`;
    return `  ${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

function redactIfSecret(name: string, value: string): string {
  return /(PASSWORD|SECRET|KEY|URL|TOKEN)$/.test(name) ? '<redacted>' : value;
}
