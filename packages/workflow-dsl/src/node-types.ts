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
export const AGENT_ENGINES = ['gateway.codex.v2', 'gateway.claude.v2', 'gateway.opencode.v2'] as const;

export type AgentEngine = (typeof AGENT_ENGINES)[number];

export function isNodeType(value: unknown): value is NodeType {
  return (NODE_TYPES as readonly unknown[]).includes(value);
}

/** Trigger nodes are where a run enters; nothing may lead into them. */
export function isTriggerType(type: NodeType): type is TriggerType {
  return type.startsWith('trigger.');
}
