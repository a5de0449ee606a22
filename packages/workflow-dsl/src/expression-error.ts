/** Where an expression sits in the spec, so an error can point a person at it. */
export interface ExpressionLocation {
  /** A spec path such as `nodes[3].config.expression`. */
  path: string;
  /** The node whose config holds it, if any (an edge condition has none). */
  nodeId?: string;
}

/**
 * An expression that does not parse, fails while evaluating (type error, runaway guard) or yields no JSON.
 * Never retryable: the same expression over the same context fails the same way. `code` is JSONata's
 * (`S0201`, `T2001`, `D1012`…) or one of this package's: `NOT_JSON`, `NO_BRANCH`, `FAILED`.
 */
export class ExpressionError extends Error {
  readonly retryable = false;
  /** Where the expression is in the spec. */
  readonly path: string;
  /** The node whose config holds it; undefined for an edge condition. */
  readonly nodeId: string | undefined;

  constructor(
    location: ExpressionLocation,
    readonly code: string,
    /** What went wrong, without the location: what a validation problem says next to its own path. */
    readonly detail: string,
  ) {
    super(`${location.nodeId === undefined ? location.path : `node ${location.nodeId} (${location.path})`}: ${detail}`);
    this.name = 'ExpressionError';
    this.path = location.path;
    this.nodeId = location.nodeId;
  }

  /** JSONata throws plain objects `{ code, message, position }`; anything else is a bug surfacing here. */
  static from(error: unknown, location: ExpressionLocation): ExpressionError {
    if (error instanceof ExpressionError) return error;
    const { code, message, position } = (error ?? {}) as { code?: unknown; message?: unknown; position?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : String(error);
    const at = typeof position === 'number' ? ` (at position ${position})` : '';
    return new ExpressionError(location, typeof code === 'string' ? code : 'FAILED', `${text}${at}`);
  }
}
