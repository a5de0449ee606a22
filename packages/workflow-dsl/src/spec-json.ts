import type { JsonValue } from '@foundation/connectors';
import type { InputType } from './input-types.js';
import type { NodeType } from './node-types.js';

export type { JsonValue };

/**
 * `foundation.workflow.v1.WorkflowSpec` in its proto-JSON form (camelCase keys), the form the DSL works on.
 * Proto3 JSON leaves out empty strings and zeros, so every scalar with a default may be missing. Object
 * types rather than interfaces, so a spec is assignable to a JSON value.
 */
export type WorkflowSpecJson = {
  inputs?: InputSpecJson[];
  nodes: NodeJson[];
  edges?: EdgeJson[];
  /** The run's time budget, e.g. "10m"; missing or "" means 1h. */
  timeout?: string;
};

export type InputSpecJson = {
  name: string;
  type: InputType;
  required?: boolean;
  /** Missing or null means no default. */
  default?: JsonValue;
  description?: string;
};

export type NodeJson = {
  id: string;
  type: NodeType;
  name?: string;
  /** The type's settings; missing means `{}`. */
  config?: { [key: string]: JsonValue };
  retry?: RetryPolicyJson;
  /** One attempt's time budget; missing or "" means 5m. */
  timeout?: string;
};

export type RetryPolicyJson = {
  maxAttempts?: number;
  initialBackoff?: string;
  maxBackoff?: string;
  multiplier?: number;
};

export type EdgeJson = {
  from: string;
  to: string;
  /** A branch name on an edge leaving a `condition` node, a JSONata expression on any other edge. */
  condition?: string;
};
