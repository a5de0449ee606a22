import type { ConnectorCatalog } from '@foundation/connectors';
import { readAgentRunConfig, type AgentRunConfig } from './agent-run-config.js';
import { readConditionConfig, type ConditionConfig } from './condition-config.js';
import { readConnectorActionConfig, type ConnectorActionConfig } from './connector-action-config.js';
import { cronProblem, DEFAULT_TIMEZONE, timezoneProblem } from './cron-schedule.js';
import type { Expression } from './expression.js';
import { readExpression } from './expression-fields.js';
import type { NodeType } from './node-types.js';
import type { FieldReader } from './spec-fields.js';
import { DELAY_DURATION } from './spec-limits.js';

export type { AgentRunConfig, ConditionConfig, ConnectorActionConfig };

/** `trigger.schedule`: fires on `cron` in `timezone` (an IANA name, "UTC" when unset). */
export interface ScheduleTriggerConfig {
  cron: string;
  timezone: string;
}

/** `transform`: the node's output is the expression's value over the run context. */
export interface TransformConfig {
  expression: Expression;
}

/** `delay`: waits, then succeeds with no output. At most 24h. */
export interface DelayConfig {
  durationMs: number;
}

/** A node's type with its parsed config; switching on `type` narrows `config`. */
export type TypedNodeConfig =
  | { type: 'trigger.manual'; config: Record<string, never> }
  | { type: 'trigger.webhook'; config: Record<string, never> }
  | { type: 'trigger.schedule'; config: ScheduleTriggerConfig }
  | { type: 'connector.action'; config: ConnectorActionConfig }
  | { type: 'transform'; config: TransformConfig }
  | { type: 'condition'; config: ConditionConfig }
  | { type: 'delay'; config: DelayConfig }
  | { type: 'agent.run'; config: AgentRunConfig };

/** What reading a config may need besides the config itself. */
export interface ConfigScope {
  nodeId: string;
  /** Connector actions are checked against it when given. */
  catalog: ConnectorCatalog | undefined;
}

/**
 * Reads the config of a node of `type`, reporting missing, unknown and mistyped keys. Undefined when it
 * has problems; the problems say why.
 */
export function readNodeConfig(type: NodeType, reader: FieldReader, scope: ConfigScope): TypedNodeConfig | undefined {
  switch (type) {
    case 'trigger.manual':
    case 'trigger.webhook':
      reader.onlyKeys([], `a ${type} config`);
      return { type, config: {} };
    case 'trigger.schedule':
      return typed(type, readScheduleConfig(reader));
    case 'connector.action':
      return typed(type, readConnectorActionConfig(reader, scope));
    case 'transform': {
      reader.onlyKeys(['expression'], 'a transform config');
      const expression = readExpression(reader, 'expression', scope.nodeId);
      return typed(type, expression && { expression });
    }
    case 'condition':
      return typed(type, readConditionConfig(reader, scope.nodeId));
    case 'delay':
      reader.onlyKeys(['duration'], 'a delay config');
      return typed(type, { durationMs: reader.duration('duration', DELAY_DURATION, true) });
    case 'agent.run':
      return typed(type, readAgentRunConfig(reader, scope.nodeId));
  }
}

/** Every expression a node's config evaluates, templates included. */
export function configExpressions(node: TypedNodeConfig): Expression[] {
  switch (node.type) {
    case 'connector.action':
      return [...node.config.params.expressions];
    case 'transform':
      return [node.config.expression];
    case 'condition':
      return node.config.branches.map((branch) => branch.when);
    case 'agent.run':
      return [...node.config.prompt.expressions, ...(node.config.workspace?.expressions ?? [])];
    default:
      return [];
  }
}

function typed<T extends TypedNodeConfig>(type: T['type'], config: T['config'] | undefined): T | undefined {
  return config === undefined ? undefined : ({ type, config } as T);
}

function readScheduleConfig(reader: FieldReader): ScheduleTriggerConfig | undefined {
  reader.onlyKeys(['cron', 'timezone'], 'a trigger.schedule config');
  const cron = reader.string('cron', { required: true });
  const timezone = reader.string('timezone') ?? DEFAULT_TIMEZONE;
  const zoneProblem = timezoneProblem(timezone);
  if (zoneProblem !== undefined) {
    reader.report('timezone', zoneProblem);
    return undefined;
  }
  if (cron === undefined) return undefined;
  const problem = cronProblem(cron, timezone);
  if (problem !== undefined) reader.report('cron', problem);
  return problem === undefined ? { cron, timezone } : undefined;
}
