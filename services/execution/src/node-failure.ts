import { Code, ConnectError } from '@connectrpc/connect';
import { ConnectorError } from '@foundation/connectors';
import { reasonOf } from '@foundation/kit';
import { ExpressionError, storableText } from '@foundation/workflow-dsl';

/**
 * Why a node attempt failed, in the terms a run reports: a machine-readable reason, a message for
 * people, and whether another attempt may succeed (which the node's retry policy then decides).
 */
export class NodeFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryable: boolean,
  ) {
    // The message may quote a node's input (an expression's $error, say), and is stored with the run.
    super(storableText(message));
    this.name = 'NodeFailure';
  }

  /** Classifies whatever a node attempt threw. Unknown errors are not retried: they are bugs, not weather. */
  static from(error: unknown): NodeFailure {
    if (error instanceof NodeFailure) return error;
    if (error instanceof ConnectorError) return new NodeFailure(error.reason, error.message, error.retryable);
    if (error instanceof ExpressionError) return new NodeFailure('EXPRESSION_FAILED', error.message, false);
    if (error instanceof ConnectError) {
      const transient = error.code === Code.Unavailable || error.code === Code.DeadlineExceeded;
      return new NodeFailure(reasonOf(error) ?? 'DEPENDENCY_FAILED', error.rawMessage, transient);
    }
    return new NodeFailure('NODE_FAILED', error instanceof Error ? error.message : String(error), false);
  }
}
