import { ConfigError } from '@foundation/kit';
import { withSqlClient } from '@foundation/db';
import type { Client } from 'pg';
import { DATA_KEY_CREATION_LOCK } from './data-keys.js';
import { AuthenticationFailedError, unwrapDataKey, wrapDataKey } from './envelope.js';
import { generateMasterKey, readKeyringFile, writeKeyringFile, type Keyring } from './keyring-file.js';

/** Serializes rotations: two at once would each add a key and fight over which is active. */
const ROTATION_LOCK = 'foundation:master-key-rotation';

export interface MasterKeyRotationOptions {
  /**
   * The schema owner's connection (DATABASE_URL). The `data_keys` table lets the role that created it read
   * and re-wrap every org's row (see the secrets migration); the app role sees one org at a time.
   */
  ownerUrl: string;
  /** The keyring file the services read (FOUNDATION_MASTER_KEY_FILE). */
  keyringFile: string;
  /** Receives a line per step, for the CLI to print. */
  progress: (line: string) => void;
}

export interface MasterKeyRotationReport {
  activeKeyId: string;
  rewrapped: number;
  /** Data keys that could not be unwrapped (altered, or wrapped by a key missing from the file). */
  failed: number;
}

/**
 * Adds a new master key to the keyring file, makes it active, and re-wraps every org's data key with it,
 * each in its own short transaction, while services keep running: the data keys themselves do not change,
 * so every ciphertext stays readable, and a service that meets a key id it does not know re-reads the file,
 * which is written (atomically) before the first data key is re-wrapped. A service wraps an org's first data
 * key with the newest key once the file has changed; data keys wrapped with the previous key just before are
 * waited for (DATA_KEY_CREATION_LOCK), and passes repeat until none is left under an older key, which also
 * catches a service that saw the new file late. The older keys stay in the file; once the report shows no
 * failure they protect nothing.
 */
export async function rotateMasterKey({ ownerUrl, keyringFile, progress }: MasterKeyRotationOptions): Promise<MasterKeyRotationReport> {
  return withSqlClient(ownerUrl, async (db) => {
    await assertMayRotate(db);
    // Held until this connection closes, which also covers a failed run.
    await db.query('select pg_advisory_lock(hashtext($1))', [ROTATION_LOCK]);
    const keyring = await readKeyringFile(keyringFile);
    const previous = keyring.activeKeyId;
    const next = generateMasterKey();
    keyring.keys.set(next.id, next.key);
    keyring.activeKeyId = next.id;
    await writeKeyringFile(keyringFile, keyring);
    progress(`master key ${next.id} added to ${keyringFile} and made active (previous: ${previous})`);
    // The barrier: data keys being wrapped with the previous key right now commit before the first pass.
    await db.query('select pg_advisory_lock(hashtext($1))', [DATA_KEY_CREATION_LOCK]);
    await db.query('select pg_advisory_unlock(hashtext($1))', [DATA_KEY_CREATION_LOCK]);

    const failed = new Set<string>();
    let rewrapped = 0;
    for (;;) {
      const { rows } = await db.query<{ id: string }>('select id from secrets.data_keys where master_key_id <> $1 order by id', [next.id]);
      const pending = rows.map((r) => r.id).filter((id) => !failed.has(id));
      if (pending.length === 0) break;
      for (const id of pending) {
        try {
          const moved = await rewrap(db, id, keyring);
          if (moved) {
            rewrapped += 1;
            progress(`data key ${id} of org ${moved.orgId}: re-wrapped from ${moved.from} to ${next.id}`);
          }
        } catch (e) {
          if (!(e instanceof RewrapError)) throw e;
          failed.add(id);
          progress(`data key ${id} of org ${e.orgId}: NOT re-wrapped: ${e.message}`);
        }
      }
    }
    progress(
      failed.size === 0
        ? `done: ${rewrapped} data key(s) re-wrapped; every data key is wrapped by ${next.id}`
        : `done: ${rewrapped} data key(s) re-wrapped, ${failed.size} failed (listed above); their secrets cannot be read until restored`,
    );
    return { activeKeyId: next.id, rewrapped, failed: failed.size };
  });
}

class RewrapError extends Error {
  constructor(
    readonly orgId: string,
    message: string,
  ) {
    super(message);
  }
}

/** Re-wraps one data key with the keyring's active key in its own transaction; undefined when it already was. */
async function rewrap(db: Client, id: string, keyring: Keyring): Promise<{ orgId: string; from: string } | undefined> {
  await db.query('begin');
  try {
    const { rows } = await db.query<{ org_id: string; master_key_id: string; nonce: Buffer; wrapped_key: Buffer }>(
      'select org_id, master_key_id, nonce, wrapped_key from secrets.data_keys where id = $1 for update',
      [id],
    );
    const row = rows[0];
    if (!row || row.master_key_id === keyring.activeKeyId) {
      await db.query('commit');
      return undefined;
    }
    const binding = { orgId: row.org_id, dataKeyId: id };
    const oldKey = keyring.keys.get(row.master_key_id);
    if (!oldKey) throw new RewrapError(row.org_id, `its master key ${row.master_key_id} is not in the keyring file`);
    let dataKey: Buffer;
    try {
      dataKey = unwrapDataKey(oldKey, binding, { nonce: row.nonce, ciphertext: row.wrapped_key });
    } catch (e) {
      if (e instanceof AuthenticationFailedError) throw new RewrapError(row.org_id, 'it failed authentication (altered, or moved from another org)');
      throw e;
    }
    const sealed = wrapDataKey(keyring.keys.get(keyring.activeKeyId)!, binding, dataKey);
    await db.query('update secrets.data_keys set master_key_id = $2, nonce = $3, wrapped_key = $4, rewrapped_at = now() where id = $1', [
      id,
      keyring.activeKeyId,
      sealed.nonce,
      sealed.ciphertext,
    ]);
    await db.query('commit');
    return { orgId: row.org_id, from: row.master_key_id };
  } catch (e) {
    await db.query('rollback');
    throw e;
  }
}

/** A role without the rotation policy would see no data key at all and report a rotation that did nothing. */
async function assertMayRotate(db: Client): Promise<void> {
  const { rows } = await db.query<{ may: boolean }>(
    `select exists (select 1 from pg_policies where schemaname = 'secrets' and tablename = 'data_keys'
       and policyname = 'master_key_rotation_read' and current_user = any (roles))
     or (select rolsuper from pg_roles where rolname = current_user) as may`,
  );
  if (!rows[0]?.may) {
    throw new ConfigError('rotating the master key needs the schema owner that ran the migrations: set DATABASE_URL to its connection');
  }
}
