import type { ActionContext, BaseUrls, ConnectorCatalog, JsonValue } from './catalog.js';
import {
  ConnectorCancelledError,
  ConnectorCredentialError,
  ConnectorError,
  ConnectorInputError,
  ConnectorInternalError,
  ConnectorTimeoutError,
  UnknownActionError,
} from './connector-errors.js';
import type { EgressPolicy } from './egress-guard.js';
import { sendGuarded } from './guarded-http.js';
import { inputValidatorFor } from './input-validator.js';
import { SecretRedactor } from './secret-redactor.js';

/** How one action runs. The caller (the execution service) resolves the secret and owns the limits. */
export interface RunActionOptions {
  /** The plaintext of the connector's credential, resolved server-side just before the run. */
  secret?: string;
  policy: EgressPolicy;
  /** Budget for the whole run: DNS, every redirect hop and every response body. */
  timeoutMs: number;
  /** Per response body; the connection is aborted as soon as a body grows past it. */
  maxResponseBytes: number;
  maxRedirects: number;
  baseUrls?: BaseUrls;
  /** Aborts the action (a cancelled run): requests in flight are dropped and the run rejects at once. */
  signal?: AbortSignal;
}

/**
 * The operator's limits on connector actions (FOUNDATION_CONNECTOR_*), the same for every caller that runs
 * them: the workflow worker's connector nodes and the brain's tool bridge.
 */
export interface ConnectorLimits {
  policy: EgressPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  baseUrls: BaseUrls;
}

export interface ActionResult {
  output: JsonValue;
}

/**
 * Runs `<connector>.<action>`: validates the input before anything else (an invalid input never causes a
 * request), checks the credential is present, then runs the action with every request going through the
 * egress guard. Resolves with the output, the secret redacted from it; rejects only with `ConnectorError`s.
 */
export async function runAction(
  catalog: ConnectorCatalog,
  actionRef: string,
  input: unknown,
  options: RunActionOptions,
): Promise<ActionResult> {
  const resolved = catalog.getAction(actionRef);
  if (resolved === undefined) throw new UnknownActionError(actionRef);
  const { connector, action } = resolved;
  const problems = inputValidatorFor(action)(input);
  if (problems.length > 0) throw new ConnectorInputError(actionRef, problems);
  if (connector.credential.kind !== 'none' && !connector.credential.optional && !options.secret) {
    throw new ConnectorCredentialError(`${actionRef} needs a secret: ${connector.credential.description}`);
  }

  const redactor = new SecretRedactor(options.secret);
  const controller = new AbortController();
  const { policy, timeoutMs, maxResponseBytes, maxRedirects } = options;
  const limits = { policy, timeoutMs, maxResponseBytes, maxRedirects, signal: controller.signal, redactor };
  const context: ActionContext = {
    secret: options.secret || undefined,
    baseUrls: options.baseUrls ?? {},
    send: (request) => sendGuarded(request, limits),
  };
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // The race guarantees the budget even for work the signal cannot interrupt (a slow DNS answer).
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new ConnectorTimeoutError(timeoutMs));
    }, timeoutMs);
    onAbort = () => {
      controller.abort();
      reject(new ConnectorCancelledError(actionRef));
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const output = await Promise.race([action.run(input, context), deadline]);
    return { output: redactor.json(output) };
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ConnectorInternalError(`${actionRef} failed unexpectedly: ${redactor.text(message)}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}
