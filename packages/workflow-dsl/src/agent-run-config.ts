import { readTemplate } from './expression-fields.js';
import { AGENT_ENGINES, type AgentEngine } from './node-types.js';
import type { FieldReader } from './spec-fields.js';
import type { Template } from './template.js';

/**
 * `agent.run`: a coding agent on a paired node-agent, through the brain. `prompt` and `workspace` are
 * templates (`{{ expr }}`); there is no hosted executor, so only the three gateway engines exist.
 */
export interface AgentRunConfig {
  engine: AgentEngine;
  prompt: Template;
  workspace?: Template;
}

export function readAgentRunConfig(reader: FieldReader, nodeId: string): AgentRunConfig | undefined {
  reader.onlyKeys(['engine', 'prompt', 'workspace'], 'an agent.run config');
  const engine = reader.string('engine', { required: true });
  const knownEngine = AGENT_ENGINES.find((known) => known === engine);
  if (engine !== undefined && knownEngine === undefined) reader.report('engine', `must be one of ${AGENT_ENGINES.join(', ')}`);
  const promptText = reader.string('prompt', { required: true });
  const prompt = promptText === undefined ? undefined : readTemplate(reader, 'prompt', promptText, nodeId);
  const workspaceText = reader.string('workspace');
  const workspace = workspaceText === undefined ? undefined : readTemplate(reader, 'workspace', workspaceText, nodeId);
  if (knownEngine === undefined || prompt === undefined) return undefined;
  return { engine: knownEngine, prompt, ...(workspace === undefined ? {} : { workspace }) };
}
