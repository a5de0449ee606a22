import { homedir } from 'node:os';
import { join } from 'node:path';

/** What decides where the agent keeps its files; `process.env`, `process.platform` and `os.homedir()` in `main`. */
export interface PathInputs {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  home: string;
}

export function currentPathInputs(): PathInputs {
  return { env: process.env, platform: process.platform, home: homedir() };
}

/**
 * Where the pairing (server, executor id, credential) lives: `$FOUNDATION_AGENT_CONFIG_DIR`, else the
 * platform's per-user config directory, so one machine account is one node.
 */
export function configDir({ env, platform, home }: PathInputs): string {
  if (env.FOUNDATION_AGENT_CONFIG_DIR) return env.FOUNDATION_AGENT_CONFIG_DIR;
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'foundation-agent');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'foundation-agent');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'foundation-agent');
}

/**
 * Where the daemon keeps its state (the event outbox, the status file, by default the workspaces):
 * `$FOUNDATION_AGENT_DATA_DIR`, else the platform's per-user data directory.
 */
export function dataDir(inputs: PathInputs): string {
  const { env, platform, home } = inputs;
  if (env.FOUNDATION_AGENT_DATA_DIR) return env.FOUNDATION_AGENT_DATA_DIR;
  if (platform === 'darwin' || platform === 'win32') return join(configDir({ ...inputs, env: { ...env, FOUNDATION_AGENT_CONFIG_DIR: undefined } }), 'data');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'foundation-agent');
}
