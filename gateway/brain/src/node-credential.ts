import { createHash, randomBytes } from 'node:crypto';

/** Node credentials start with this, so a leaked one is recognizable (secret scanners) and told apart from user tokens. */
export const NODE_CREDENTIAL_PREFIX = 'fnd_node_';

/**
 * A node's credential: 32 random bytes, base64url, behind the prefix. Only its SHA-256 is stored; a slow
 * hash adds nothing for 256 random bits.
 */
export function generateNodeCredential(): { credential: string; credentialHash: string } {
  const credential = NODE_CREDENTIAL_PREFIX + randomBytes(32).toString('base64url');
  return { credential, credentialHash: hashNodeCredential(credential) };
}

export function hashNodeCredential(credential: string): string {
  return createHash('sha256').update(credential).digest('base64url');
}
