import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM with the 96-bit random nonce and 128-bit tag NIST SP 800-38D recommends. */
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A GCM ciphertext: the tag is its last 16 bytes. */
export interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
}

/**
 * GCM authentication failed: the ciphertext, nonce or associated data is not what was sealed, or the key
 * is not the one that sealed it. Node reports only "unable to authenticate data"; there is nothing more to
 * know, and the plaintext is never part of the error.
 */
export class AuthenticationFailedError extends Error {
  override readonly name = 'AuthenticationFailedError';
}

/** A fresh random data key for an org. */
export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * Wraps an org's data key with a master key. The associated data binds the org and the data key's id, so
 * a wrapped key copied to another org's row (or another id) does not unwrap.
 */
export function wrapDataKey(masterKey: Buffer, binding: DataKeyBinding, dataKey: Buffer): Sealed {
  return seal(masterKey, dataKey, dataKeyAssociatedData(binding));
}

/** The data key inside `sealed`; throws AuthenticationFailedError when it or its binding was altered. */
export function unwrapDataKey(masterKey: Buffer, binding: DataKeyBinding, sealed: Sealed): Buffer {
  return open(masterKey, sealed, dataKeyAssociatedData(binding));
}

/**
 * Encrypts a secret value with the org's data key. The associated data binds the org and the secret's id:
 * a ciphertext moved to another secret or org fails to decrypt rather than yielding the wrong secret. The
 * version is deliberately not bound, so a rollback copies an earlier version's ciphertext unchanged and
 * never decrypts it (the current-version pointer is not authenticated anyway).
 */
export function encryptValue(dataKey: Buffer, binding: SecretBinding, value: string): Sealed {
  return seal(dataKey, Buffer.from(value, 'utf8'), secretAssociatedData(binding));
}

/** The value inside `sealed`; throws AuthenticationFailedError when it or its binding was altered. */
export function decryptValue(dataKey: Buffer, binding: SecretBinding, sealed: Sealed): string {
  return open(dataKey, sealed, secretAssociatedData(binding)).toString('utf8');
}

export interface DataKeyBinding {
  orgId: string;
  dataKeyId: string;
}

export interface SecretBinding {
  orgId: string;
  secretId: string;
}

// Distinct prefixes keep a wrapped data key and a secret ciphertext from ever passing as one another.
function dataKeyAssociatedData({ orgId, dataKeyId }: DataKeyBinding): Buffer {
  return Buffer.from(`foundation.secrets.v1/data-key/org:${orgId}/key:${dataKeyId}`);
}

function secretAssociatedData({ orgId, secretId }: SecretBinding): Buffer {
  return Buffer.from(`foundation.secrets.v1/secret/org:${orgId}/secret:${secretId}`);
}

function seal(key: Buffer, plaintext: Buffer, associatedData: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce, ciphertext };
}

function open(key: Buffer, { nonce, ciphertext }: Sealed, associatedData: Buffer): Buffer {
  if (nonce.length !== NONCE_BYTES || ciphertext.length < TAG_BYTES) {
    throw new AuthenticationFailedError('the ciphertext is truncated');
  }
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new AuthenticationFailedError('the ciphertext failed authentication');
  }
}
