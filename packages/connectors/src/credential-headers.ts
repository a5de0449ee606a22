import { validateHeaderValue } from 'node:http';
import { ConnectorCredentialError } from './connector-errors.js';

/** How a secret is presented to an HTTP upstream; `headerName` is required for `header`. */
export interface HttpAuth {
  kind: 'bearer' | 'basic' | 'header';
  headerName?: string;
}

/**
 * The header that carries `secret`: `Authorization: Bearer …`, `Authorization: Basic …` (the secret is
 * `user:password`), or the secret as the value of a named header. A secret Node would refuse in a header
 * (control characters) fails with a message that describes it without quoting it.
 */
export function credentialHeaders(auth: HttpAuth, secret: string): Record<string, string> {
  if (auth.kind === 'basic' && !secret.includes(':')) {
    throw new ConnectorCredentialError('a basic-auth secret must have the form user:password');
  }
  const name = auth.kind === 'header' ? (auth.headerName ?? 'authorization') : 'authorization';
  const value =
    auth.kind === 'bearer' ? `Bearer ${secret}` : auth.kind === 'basic' ? `Basic ${Buffer.from(secret).toString('base64')}` : secret;
  try {
    validateHeaderValue(name, value);
  } catch {
    throw new ConnectorCredentialError('the secret contains characters that cannot be sent in an HTTP header');
  }
  return { [name]: value };
}
