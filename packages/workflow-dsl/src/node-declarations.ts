import type { ConnectorCatalog } from '@foundation/connectors';
import { readNodeConfig, type TypedNodeConfig } from './node-config.js';
import { isNodeType, NODE_TYPES, type NodeType } from './node-types.js';
import { FieldReader } from './spec-fields.js';
import {
  BACKOFF_MULTIPLIER,
  IDENTIFIER_HINT,
  IDENTIFIER_PATTERN,
  INITIAL_BACKOFF,
  MAX_ATTEMPTS,
  MAX_BACKOFF,
  MAX_NODE_NAME_LENGTH,
  MAX_NODES,
  NODE_TIMEOUT,
} from './spec-limits.js';

/**
 * How a node's failed attempts are retried, defaults filled in: attempt n+1 starts
 * `initialBackoffMs * multiplier^(n-1)` (at most `maxBackoffMs`) after attempt n failed retryably.
 */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

/** What could be read of one node; a field is undefined when it has a problem. */
export interface NodeDeclaration {
  index: number;
  /** Undefined when missing or already taken by an earlier node. */
  id: string | undefined;
  type: NodeType | undefined;
  name: string | undefined;
  typed: TypedNodeConfig | undefined;
  retry: RetryPolicy;
  timeoutMs: number;
}

const SINGLE_ATTEMPT: RetryPolicy = {
  maxAttempts: 1,
  initialBackoffMs: INITIAL_BACKOFF.defaultMs,
  maxBackoffMs: MAX_BACKOFF.defaultMs,
  multiplier: BACKOFF_MULTIPLIER.default,
};

/** The spec's `nodes`: 1 to 200, ids unique identifiers, types known, each config right for its type. */
export function readNodes(spec: FieldReader, catalog: ConnectorCatalog | undefined): NodeDeclaration[] {
  const list = spec.array('nodes', true);
  if (list !== undefined && (list.length === 0 || list.length > MAX_NODES)) {
    spec.report('nodes', `must have 1 to ${MAX_NODES} nodes; it has ${list.length}`);
  }
  const ids = new Set<string>();
  const declarations: NodeDeclaration[] = [];
  for (const [index, item] of (list ?? []).entries()) {
    const node = FieldReader.of(spec.problems, item, ['nodes', index]);
    if (node === undefined) continue;
    node.onlyKeys(['id', 'type', 'name', 'config', 'retry', 'timeout'], 'a node');
    node.string('id', { required: true, pattern: IDENTIFIER_PATTERN, patternHint: IDENTIFIER_HINT });
    // A malformed id still names its node, so edges to it are not reported as dangling too.
    const written = node.raw('id');
    let id = typeof written === 'string' && written !== '' ? written : undefined;
    if (id !== undefined && ids.has(id)) {
      node.report('id', 'is the id of an earlier node; node ids must be unique');
      id = undefined;
    }
    if (id !== undefined) ids.add(id);
    const type = node.raw('type');
    if (!isNodeType(type)) node.report('type', type === undefined ? 'is required' : `must be one of ${NODE_TYPES.join(', ')}`);
    const name = node.string('name', { maxLength: MAX_NODE_NAME_LENGTH });
    const config = node.child('config');
    const typed = isNodeType(type) && config ? readNodeConfig(type, config, { nodeId: id ?? `nodes[${index}]`, catalog }) : undefined;
    const retry = node.raw('retry') === undefined ? SINGLE_ATTEMPT : readRetry(node.child('retry'));
    const timeoutMs = node.duration('timeout', NODE_TIMEOUT);
    declarations.push({ index, id, type: isNodeType(type) ? type : undefined, name, typed, retry, timeoutMs });
  }
  return declarations;
}

/** A set retry policy must say how many attempts; proto3's 0 for the rest means the default. */
function readRetry(retry: FieldReader | undefined): RetryPolicy {
  if (retry === undefined) return SINGLE_ATTEMPT;
  retry.onlyKeys(['maxAttempts', 'initialBackoff', 'maxBackoff', 'multiplier'], 'a retry policy');
  return {
    maxAttempts: retry.number('maxAttempts', { ...MAX_ATTEMPTS, integer: true, required: true }) ?? SINGLE_ATTEMPT.maxAttempts,
    initialBackoffMs: retry.duration('initialBackoff', INITIAL_BACKOFF),
    maxBackoffMs: retry.duration('maxBackoff', MAX_BACKOFF),
    multiplier: retry.number('multiplier', BACKOFF_MULTIPLIER) ?? BACKOFF_MULTIPLIER.default,
  };
}
