import type { Client } from '@connectrpc/connect';
import type { SecretsService } from '@foundation/contracts';
import { runAction, type ConnectorCatalog, type ConnectorLimits, type JsonValue } from '@foundation/connectors';
import { chooseBranch, renderTemplate, runTransform, type CompiledNode, type RunContext } from '@foundation/workflow-dsl';
import type { AgentRunNode } from './agent-run-node.js';
import { NodeFailure } from './node-failure.js';

/** What one node attempt runs with. */
export interface NodeAttempt {
  orgId: string;
  runId: string;
  node: CompiledNode;
  /** 1 for the first attempt of the node in this run. */
  attempt: number;
  context: RunContext;
  /** Aborted when the attempt times out or the run is cancelled. */
  signal: AbortSignal;
  /** Appends a `node.log` event: what the attempt did, for people watching the run (never a secret). */
  log(message: string): void;
  /** Appends a `node.agent_event` event; `seq` is the agent session's, so a replayed event is not stored twice. */
  agentEvent(seq: number, payload: { [key: string]: JsonValue }): void;
}

/**
 * Runs one attempt of a node by its type and returns its output; failures are NodeFailures. Trigger
 * nodes never get here: the run graph settles them when the run enters.
 */
export class NodeExecutors {
  constructor(
    private readonly catalog: ConnectorCatalog,
    private readonly secrets: Client<typeof SecretsService>,
    private readonly connectors: ConnectorLimits,
    private readonly agentRun: AgentRunNode,
  ) {}

  async run(attempt: NodeAttempt): Promise<JsonValue> {
    const { node, context, signal } = attempt;
    switch (node.type) {
      case 'transform':
        return runTransform(node, context);
      case 'condition':
        return { branch: await chooseBranch(node, context) };
      case 'delay':
        await sleep(node.config.durationMs, signal);
        return { delayedMs: node.config.durationMs };
      case 'connector.action':
        return this.connectorAction(attempt, node.config);
      case 'agent.run':
        return this.agentRun.run(attempt, node.config);
      default:
        throw new NodeFailure('NODE_FAILED', `a ${node.type} node does not run by itself`, false);
    }
  }

  /** Resolves the credential at the moment the action runs, and only then; the value stays in this call. */
  private async connectorAction({ orgId, runId, context, signal, node, log }: NodeAttempt, config: Extract<CompiledNode, { type: 'connector.action' }>['config']) {
    const params = await renderTemplate(config.params, context);
    let secret: string | undefined;
    if (config.credential) {
      const resolved = await this.secrets.resolveSecret({ orgId, name: config.credential, runId }, { signal });
      secret = resolved.value;
      log(`credential ${config.credential} resolved (version ${resolved.version})`);
    }
    const timeoutMs = Math.min(node.timeoutMs, this.connectors.timeoutMs);
    const ref = `${config.connector}.${config.action}`;
    log(`running ${ref} (time budget ${timeoutMs} ms)`);
    const { output } = await runAction(this.catalog, ref, params, {
      secret,
      policy: this.connectors.policy,
      timeoutMs,
      maxResponseBytes: this.connectors.maxResponseBytes,
      maxRedirects: this.connectors.maxRedirects,
      baseUrls: this.connectors.baseUrls,
      signal,
    });
    return output;
  }
}

/**
 * Waits `ms` by the wall clock, or rejects as soon as `signal` aborts (with the signal's reason). A timer
 * may fire a millisecond early by `Date.now()` (libuv counts from the loop's cached time), and a delay
 * node promises to take no less than its duration, so a short remainder is waited for again.
 */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + ms;
  let left = ms;
  do {
    await waitOnce(left, signal);
    left = until - Date.now();
  } while (left > 0);
}

function waitOnce(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
