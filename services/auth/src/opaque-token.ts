import { createHash, randomBytes } from 'node:crypto';

/**
 * A random secret with a prefix that says what it is (`fdn_` API token, `fdr_` refresh token): 32 bytes,
 * base64url. Only its SHA-256 is stored; a slow hash adds nothing for 256 random bits.
 */
export function generateOpaqueToken(prefix: string): { token: string; tokenHash: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, tokenHash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
