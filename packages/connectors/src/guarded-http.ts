import type { IncomingHttpHeaders } from 'node:http';
import { ConnectorHttpError, TooManyRedirectsError } from './connector-errors.js';
import { vetEgressTarget, type EgressPolicy } from './egress-guard.js';
import { exchange, type ExchangeLimits } from './http-exchange.js';
import type { SecretRedactor } from './secret-redactor.js';

/** A request as an action describes it; `ActionContext.send` carries it out under the run's limits. */
export interface OutboundRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  /**
   * Headers that carry the credential. They go to the request's own origin only and are dropped for good
   * at the first cross-origin redirect, so a redirect cannot forward the secret to another host.
   */
  credentialHeaders?: Record<string, string>;
  body?: string;
  /** How errors name the target instead of its origin, for a URL that is itself the secret (a webhook). */
  label?: string;
}

/** A 2xx response, body read in full (within the size limit). */
export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface GuardedHttpLimits extends ExchangeLimits {
  policy: EgressPolicy;
  maxRedirects: number;
  redactor: SecretRedactor;
}

/** Framing headers are Node's to set; a caller's value would contradict the body actually sent. */
const MANAGED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const EXCERPT_CHARS = 512;

/**
 * Sends a request with the egress guard applied to every hop, redirects followed by hand (fetch's method
 * rules: 303, and 301/302 after POST, become a bodiless GET), and any non-2xx answer turned into a
 * `ConnectorHttpError` whose body excerpt has the secret redacted.
 */
export async function sendGuarded(request: OutboundRequest, limits: GuardedHttpLimits): Promise<OutboundResponse> {
  let url = new URL(request.url);
  let method = request.method.toUpperCase();
  let body = request.body;
  let headers = normalize(request.headers ?? {});
  let credentials = normalize(request.credentialHeaders ?? {});
  for (let redirects = 0; ; redirects += 1) {
    const name = request.label ?? url.origin;
    const target = await vetEgressTarget(url, limits.policy, name);
    const length: Record<string, string> = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const response = await exchange(target, { method, headers: { ...headers, ...credentials, ...length }, body }, limits, name);
    const location = response.headers.location;
    if (REDIRECTS.has(response.status) && location !== undefined) {
      response.discard();
      if (redirects >= limits.maxRedirects) throw new TooManyRedirectsError(limits.maxRedirects);
      if (!URL.canParse(location, url.href)) {
        throw new ConnectorHttpError(name, response.status, '', 'redirected to an unparsable Location');
      }
      const next = new URL(location, url);
      if (next.origin !== url.origin) credentials = {};
      if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([key]) => !BODY_HEADERS.includes(key)));
      }
      url = next;
      continue;
    }
    const bytes = await response.readBody();
    if (response.status < 200 || response.status > 299) {
      const excerpt = limits.redactor.text(bytes.toString('utf8')).slice(0, EXCERPT_CHARS);
      throw new ConnectorHttpError(name, response.status, excerpt);
    }
    return { status: response.status, headers: response.headers, body: bytes };
  }
}

/** Lower-cased names, managed headers removed, so credentials override a same-named caller header. */
function normalize(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .map(([key, value]) => [key.toLowerCase(), value] as const)
      .filter(([key]) => !MANAGED_HEADERS.has(key)),
  );
}
