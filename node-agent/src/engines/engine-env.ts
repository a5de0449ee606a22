/**
 * The environment an engine runs with: the daemon's own (the engines' logins and API keys live there), no
 * colours in their output, and without CLAUDECODE, which makes a Claude started from inside Claude Code
 * believe it is nested and refuse or change behaviour.
 */
export function engineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env['CLAUDECODE'];
  return env;
}
