import { readFileSync } from 'node:fs';

/** This package's version, the `agent_version` the platform shows for the node. */
export const AGENT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
