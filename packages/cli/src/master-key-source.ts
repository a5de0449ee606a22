import { join, resolve } from 'node:path';
import { ConfigError } from '@foundation/kit';
import { ensureKeyringFile, type MasterKeySource } from '@foundation/secrets';
import type { FoundationConfig } from './config.js';
import { usesExternalDatabase } from './infrastructure.js';

/** The keyring file `npm start` keeps in the data dir. */
const EMBEDDED_KEYRING_FILE = 'master-keys.json';

/**
 * Where the secrets service's master keys come from: FOUNDATION_MASTER_KEY_FILE, FOUNDATION_MASTER_KEY,
 * or — on a laptop, with embedded PostgreSQL — a keyring file generated once into the data dir (as the
 * service key is). A deployment on its own database must choose: data keys are only as safe as the place
 * their master key lives, and a key invented on one pod would not be the key of the next.
 */
export async function masterKeySource(config: FoundationConfig): Promise<MasterKeySource> {
  if (config.FOUNDATION_MASTER_KEY_FILE && config.FOUNDATION_MASTER_KEY) {
    throw new ConfigError('set FOUNDATION_MASTER_KEY_FILE or FOUNDATION_MASTER_KEY, not both');
  }
  if (config.FOUNDATION_MASTER_KEY_FILE) return { file: resolve(config.FOUNDATION_MASTER_KEY_FILE) };
  if (config.FOUNDATION_MASTER_KEY) return { key: config.FOUNDATION_MASTER_KEY };
  if (usesExternalDatabase(config)) {
    throw new ConfigError(
      'the secrets service needs its master key: set FOUNDATION_MASTER_KEY_FILE to a keyring file (rotatable with ' +
        '`foundation secrets rotate-master-key`) or FOUNDATION_MASTER_KEY to one key (openssl rand -base64 32); see docs/secrets.md',
    );
  }
  const file = embeddedKeyringFile(config);
  await ensureKeyringFile(file);
  return { file };
}

/** The keyring file `foundation secrets rotate-master-key` rewrites: the one the services read. */
export function keyringFileToRotate(config: FoundationConfig): string {
  if (config.FOUNDATION_MASTER_KEY_FILE) return resolve(config.FOUNDATION_MASTER_KEY_FILE);
  if (config.FOUNDATION_MASTER_KEY) {
    throw new ConfigError('FOUNDATION_MASTER_KEY is a single key and cannot be rotated in place: move it into a keyring file (docs/secrets.md) and set FOUNDATION_MASTER_KEY_FILE');
  }
  if (usesExternalDatabase(config)) throw new ConfigError('set FOUNDATION_MASTER_KEY_FILE to the keyring file the secrets service reads');
  return embeddedKeyringFile(config);
}

function embeddedKeyringFile(config: FoundationConfig): string {
  return join(resolve(config.FOUNDATION_DATA_DIR), EMBEDDED_KEYRING_FILE);
}
