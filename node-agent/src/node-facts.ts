import { hostname } from 'node:os';
import { create } from '@bufbuild/protobuf';
import { EngineInstallationSchema, NodeFactsSchema, type EngineInstallation, type NodeFacts } from '@foundation/contracts';
import type { EngineId } from '@foundation/agent-engines';
import { AGENT_VERSION } from './agent-version.js';
import type { EngineAdapter } from './engines/engine.js';

export function currentNodeFacts(): NodeFacts {
  return create(NodeFactsSchema, {
    hostname: hostname(),
    os: process.platform,
    arch: process.arch,
    agentVersion: AGENT_VERSION,
  });
}

/** The engines whose CLI answers `--version` on this machine, each with that version. */
export async function installedEngines(adapters: ReadonlyMap<EngineId, EngineAdapter>): Promise<EngineInstallation[]> {
  const found = await Promise.all(
    [...adapters.values()].map(async (adapter) => {
      const version = await adapter.version();
      return version === undefined ? undefined : create(EngineInstallationSchema, { engine: adapter.id, version });
    }),
  );
  return found.filter((installation) => installation !== undefined);
}
