import type { JsonValue } from './catalog.js';

const REDACTED = '[REDACTED]';

/**
 * Removes a secret from text an upstream sent back: outputs and error body excerpts. Upstreams echo what
 * they were sent (an echo endpoint returns the `Authorization` header; an error page quotes the webhook
 * path), so the secret is matched in the forms it travels in: as is, base64 (Basic auth), percent-encoded,
 * and for a webhook URL its path and query, which carry the capability and are echoed without the origin.
 */
export class SecretRedactor {
  readonly #forms: string[];

  constructor(secret: string | undefined) {
    const forms = secret ? [secret, Buffer.from(secret).toString('base64'), encodeURIComponent(secret), capabilityPath(secret)] : [];
    // Longest first, so a form that contains another is replaced whole.
    this.#forms = [...new Set(forms.filter((form) => form.length > 0))].sort((a, b) => b.length - a.length);
  }

  text(value: string): string {
    return this.#forms.reduce((text, form) => text.replaceAll(form, REDACTED), value);
  }

  /** Redacts every string in a JSON value, keys included. */
  json(value: JsonValue): JsonValue {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.json(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.text(key), this.json(item)]));
    }
    return value;
  }
}

/** The path and query of an http(s) URL secret, or '' when the secret is no such URL or has neither. */
function capabilityPath(secret: string): string {
  if (!URL.canParse(secret)) return '';
  const url = new URL(secret);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return '';
  const path = `${url.pathname}${url.search}`;
  return path.length > 1 ? path : '';
}
