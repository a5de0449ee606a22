/** Every node type of DSL v2, in the order the proto documents them. */
export const NODE_TYPES = [
  'trigger.manual',
  'trigger.webhook',
  'trigger.schedule',
  'connector.action',
  'transform',
  'condition',
  'delay',
  'agent.run',
] as const;

export type NodeType = (typeof NODE_TYPES)[number];

export type TriggerType = Extract<NodeType, `trigger.${string}`>;

/** The only engines an `agent.run` node may name (node-agents offer nothing else). */
export { ENGINE_IDS as AGENT_ENGINES, type EngineId as AgentEngine } from '@foundation/agent-engines';

export function isNodeType(value: unknown): value is NodeType {
  return (NODE_TYPES as readonly unknown[]).includes(value);
}

/** Trigger nodes are where a run enters; nothing may lead into them. */
export function isTriggerType(type: NodeType): type is TriggerType {
  return type.startsWith('trigger.');
}
