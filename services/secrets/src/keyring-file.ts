import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '@foundation/kit';

/** Master keys are AES-256 keys. */
export const MASTER_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The master keys a deployment has: `activeKeyId` wraps new data keys; every key stays to unwrap the
 * data keys it wrapped until a rotation re-wraps them.
 */
export interface Keyring {
  activeKeyId: string;
  keys: Map<string, Buffer>;
}

/**
 * A master key's id: "mk-" and the first 16 hex digits of the key's SHA-256, so an operator can work out
 * the id of a key they hold (`base64 -d | sha256sum | cut -c1-16`). It names the key without revealing it.
 */
export function masterKeyId(key: Buffer): string {
  return `mk-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** A new random master key with its id. */
export function generateMasterKey(): { id: string; key: Buffer } {
  const key = randomBytes(MASTER_KEY_BYTES);
  return { id: masterKeyId(key), key };
}

/** One base64 key (FOUNDATION_MASTER_KEY) as a keyring of one. */
export function singleKeyKeyring(base64: string): Keyring {
  const key = decodeKey(base64, 'FOUNDATION_MASTER_KEY');
  const id = masterKeyId(key);
  return { activeKeyId: id, keys: new Map([[id, key]]) };
}

/**
 * Reads a keyring file: JSON `{ "activeKeyId": "<id>", "keys": { "<id>": "<base64 of 32 bytes>" } }`.
 * A missing or malformed file is a ConfigError naming the file; no message ever quotes a key.
 */
export async function readKeyringFile(path: string): Promise<Keyring> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigError(`FOUNDATION_MASTER_KEY_FILE: there is no keyring file at ${path}`);
    throw e;
  }
  let parsed: { activeKeyId?: unknown; keys?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new ConfigError(`FOUNDATION_MASTER_KEY_FILE: ${path} is not JSON; expected {"activeKeyId": "...", "keys": {"<id>": "<base64>"}}`);
  }
  const { activeKeyId, keys } = parsed;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new ConfigError(`FOUNDATION_MASTER_KEY_FILE: ${path} has no "keys" object`);
  }
  const keyring: Keyring = { activeKeyId: String(activeKeyId), keys: new Map() };
  for (const [id, value] of Object.entries(keys)) {
    if (!KEY_ID.test(id)) throw new ConfigError(`FOUNDATION_MASTER_KEY_FILE: key id "${id}" in ${path} must be 1 to 64 of [A-Za-z0-9_.-]`);
    keyring.keys.set(id, decodeKey(value, `FOUNDATION_MASTER_KEY_FILE: key "${id}" in ${path}`));
  }
  if (typeof activeKeyId !== 'string' || !keyring.keys.has(activeKeyId)) {
    throw new ConfigError(`FOUNDATION_MASTER_KEY_FILE: "activeKeyId" in ${path} must name one of its keys`);
  }
  return keyring;
}

/**
 * Writes `keyring` to `path` atomically (a private temporary file renamed over it), so a service
 * re-reading the file never sees half of it. Mode 0600.
 */
export async function writeKeyringFile(path: string, keyring: Keyring): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNewFile(temporary, keyring);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Creates a keyring file with one new key unless `path` exists (for `npm start`, whose data dir gets one
 * on first run). Exclusive creation: two processes starting on a fresh data dir end up with the same file.
 */
export async function ensureKeyringFile(path: string): Promise<void> {
  const { id, key } = generateMasterKey();
  try {
    await writeNewFile(path, { activeKeyId: id, keys: new Map([[id, key]]) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

async function writeNewFile(path: string, keyring: Keyring): Promise<void> {
  const json = {
    activeKeyId: keyring.activeKeyId,
    keys: Object.fromEntries([...keyring.keys].map(([id, key]) => [id, key.toString('base64')])),
  };
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(json, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** What a master key must be written as, for messages about a bad one. */
export const MASTER_KEY_FORMAT = `the base64 of ${MASTER_KEY_BYTES} random bytes (e.g. openssl rand -base64 32)`;

/** The key in `text` when it is canonical base64 of exactly 32 bytes, else undefined. */
export function decodeMasterKey(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length === MASTER_KEY_BYTES && key.toString('base64') === text ? key : undefined;
}

function decodeKey(value: unknown, where: string): Buffer {
  const key = decodeMasterKey(value);
  if (!key) throw new ConfigError(`${where} must be ${MASTER_KEY_FORMAT}`);
  return key;
}
