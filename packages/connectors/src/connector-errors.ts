/**
 * Why a connector action failed, as a closed list: the workflow worker switches on it to decide retries and
 * the execution service maps it to an RPC reason. A new reason must be handled wherever they are switched.
 */
export type ConnectorErrorReason =
  | 'CONNECTOR_INPUT_INVALID'
  | 'CREDENTIAL_INVALID'
  | 'EGRESS_DENIED'
  | 'CONNECTOR_TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'TOO_MANY_REDIRECTS'
  | 'UPSTREAM_ERROR'
  | 'NETWORK_ERROR'
  | 'UNKNOWN_ACTION'
  | 'CONNECTOR_CANCELLED'
  | 'CONNECTOR_INTERNAL';

/** One problem of an action input: a dotted path (`params.url`, `labels[0]`) and what is wrong there. */
export interface InputProblem {
  path: string;
  message: string;
}

/**
 * Base of every error `runAction` throws. Messages are built from facts the library chose (an origin, a
 * status, a limit), never from a secret, a full URL or a request header, so they are safe to log and return.
 */
export abstract class ConnectorError extends Error {
  abstract readonly reason: ConnectorErrorReason;
  /** Whether running the same action again later may succeed; a raw `Error` never decides this. */
  abstract readonly retryable: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /** Plain form for logs and API details; subclasses add their facts. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, reason: this.reason, retryable: this.retryable, message: this.message };
  }
}

/** The input does not match the action's input schema; nothing was sent. */
export class ConnectorInputError extends ConnectorError {
  readonly reason = 'CONNECTOR_INPUT_INVALID';
  readonly retryable = false;

  constructor(
    readonly actionRef: string,
    readonly problems: readonly InputProblem[],
  ) {
    super(`invalid input for ${actionRef}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), actionRef: this.actionRef, problems: this.problems };
  }
}

/** The secret is missing or unusable for the action (the message describes it, never quotes it). */
export class ConnectorCredentialError extends ConnectorError {
  readonly reason = 'CREDENTIAL_INVALID';
  readonly retryable = false;
}

/** The egress guard refused a target (SSRF protection); no connection was opened to it. */
export class EgressDeniedError extends ConnectorError {
  readonly reason = 'EGRESS_DENIED';
  readonly retryable = false;

  constructor(
    readonly target: string,
    readonly why: string,
  ) {
    super(`egress to ${target} denied: ${why}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), target: this.target };
  }
}

/** The action did not finish, response body included, within its time budget. */
export class ConnectorTimeoutError extends ConnectorError {
  readonly reason = 'CONNECTOR_TIMEOUT';
  readonly retryable = true;

  constructor(readonly timeoutMs: number) {
    super(`action did not finish within ${timeoutMs} ms`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), timeoutMs: this.timeoutMs };
  }
}

/** The response body exceeded the size limit; the connection was aborted as soon as it did. */
export class ResponseTooLargeError extends ConnectorError {
  readonly reason = 'RESPONSE_TOO_LARGE';
  readonly retryable = false;

  constructor(
    readonly target: string,
    readonly limitBytes: number,
  ) {
    super(`response from ${target} exceeds ${limitBytes} bytes`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), target: this.target, limitBytes: this.limitBytes };
  }
}

/** More redirects than allowed, which is how a redirect loop ends. */
export class TooManyRedirectsError extends ConnectorError {
  readonly reason = 'TOO_MANY_REDIRECTS';
  readonly retryable = false;

  constructor(readonly maxRedirects: number) {
    super(`more than ${maxRedirects} redirects`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), maxRedirects: this.maxRedirects };
  }
}

/**
 * The upstream answered with a non-2xx status (or an unusable 2xx). 5xx, 408 and 429 are worth retrying;
 * other 4xx mean the request itself is wrong. `bodyExcerpt` is truncated and has the secret redacted.
 */
export class ConnectorHttpError extends ConnectorError {
  readonly reason = 'UPSTREAM_ERROR';
  readonly retryable: boolean;

  constructor(
    readonly target: string,
    readonly status: number,
    readonly bodyExcerpt: string,
    detail = `answered HTTP ${status}`,
  ) {
    super(`${target} ${detail}`);
    this.retryable = status >= 500 || status === 408 || status === 429;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), target: this.target, status: this.status, bodyExcerpt: this.bodyExcerpt };
  }
}

/** The connection failed below HTTP (refused, reset, DNS, TLS); `code` is Node's error code. */
export class ConnectorNetworkError extends ConnectorError {
  readonly reason = 'NETWORK_ERROR';

  constructor(
    readonly target: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(`could not reach ${target}: ${code}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), target: this.target, code: this.code };
  }
}

/** No connector action has this reference. */
export class UnknownActionError extends ConnectorError {
  readonly reason = 'UNKNOWN_ACTION';
  readonly retryable = false;

  constructor(readonly actionRef: string) {
    super(`no connector action ${JSON.stringify(actionRef)}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), actionRef: this.actionRef };
  }
}

/** The caller aborted the action (its run was cancelled); requests in flight were dropped. */
export class ConnectorCancelledError extends ConnectorError {
  readonly reason = 'CONNECTOR_CANCELLED';
  readonly retryable = false;

  constructor(readonly actionRef: string) {
    super(`${actionRef} was cancelled`);
  }
}

/** An action failed in a way its code did not anticipate (a bug); the message is redacted of the secret. */
export class ConnectorInternalError extends ConnectorError {
  readonly reason = 'CONNECTOR_INTERNAL';
  readonly retryable = false;
}
