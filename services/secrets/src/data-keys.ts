import { TtlCache } from '@foundation/kit';
import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { DataKeyEntity, type DataKey } from './entities.js';
import { AuthenticationFailedError, generateDataKey, unwrapDataKey, wrapDataKey } from './envelope.js';
import type { MasterKeyring } from './master-keyring.js';
import { SecretUndecryptableError } from './secret-undecryptable-error.js';

/**
 * How long an unwrapped data key stays in memory: long enough that a busy org unwraps once, bounded so an
 * org that stopped using secrets does not keep its key in the process forever. Rotating the master key
 * does not invalidate it: the data key itself does not change.
 */
const UNWRAPPED_KEY_TTL_MS = 60 * 60 * 1000;

/**
 * Held (shared) by every transaction that wraps a new data key, from reading the active master key to
 * commit; a rotation takes it exclusively once, after writing the new keyring file, as a barrier: every
 * data key wrapped with the previous key is then committed and visible to the rotation's re-wrap pass.
 */
export const DATA_KEY_CREATION_LOCK = 'foundation:data-key-creation';

/**
 * The per-org data keys that encrypt secret values, each stored wrapped by a master key. Every method runs
 * inside the caller's tenant transaction, so row-level security confines it to that org.
 */
export class DataKeys {
  /** Keyed by org and data key id: a data key row moved to another org is unwrapped (and refused) anew. */
  private readonly unwrapped = new TtlCache<Buffer>(UNWRAPPED_KEY_TTL_MS);

  constructor(private readonly masterKeys: MasterKeyring) {}

  /** The key new values of `orgId` are encrypted with, created on the org's first secret. */
  async current(em: EntityManager, orgId: string): Promise<{ id: string; key: Buffer }> {
    const row = (await em.findOne(DataKeyEntity, { orgId })) ?? (await this.create(em, orgId));
    return { id: row.id, key: await this.unwrap(orgId, row) };
  }

  /** The data key `id` of `orgId`, to decrypt a value it encrypted. */
  async byId(em: EntityManager, orgId: string, id: string): Promise<Buffer> {
    const cached = this.unwrapped.get(cacheKey(orgId, id));
    if (cached) return cached;
    const row = await em.findOne(DataKeyEntity, { orgId, id });
    if (!row) throw new SecretUndecryptableError('data_key_missing', { orgId, dataKeyId: id });
    return this.unwrap(orgId, row);
  }

  private async unwrap(orgId: string, row: DataKey): Promise<Buffer> {
    const cached = this.unwrapped.get(cacheKey(orgId, row.id));
    if (cached) return cached;
    const details = { orgId, dataKeyId: row.id, masterKeyId: row.masterKeyId };
    const masterKey = await this.masterKeys.key(row.masterKeyId);
    if (!masterKey) throw new SecretUndecryptableError('master_key_unknown', details);
    let key: Buffer;
    try {
      key = unwrapDataKey(masterKey, { orgId, dataKeyId: row.id }, { nonce: row.nonce, ciphertext: row.wrappedKey });
    } catch (e) {
      if (e instanceof AuthenticationFailedError) throw new SecretUndecryptableError('data_key_tampered', details);
      throw e;
    }
    this.unwrapped.set(cacheKey(orgId, row.id), key);
    return key;
  }

  /**
   * Generates the org's data key and stores it wrapped by the active master key. Two first secrets of an
   * org created at once race here: `on conflict do nothing` lets one insert win and the other read it.
   */
  private async create(em: EntityManager, orgId: string): Promise<DataKey> {
    const id = uuidv7();
    await em.execute('select pg_advisory_xact_lock_shared(hashtext(?))', [DATA_KEY_CREATION_LOCK]);
    const master = await this.masterKeys.active();
    const { nonce, ciphertext } = wrapDataKey(master.key, { orgId, dataKeyId: id }, generateDataKey());
    await em.execute(
      'insert into secrets.data_keys (id, org_id, master_key_id, nonce, wrapped_key) values (?, ?, ?, ?, ?) on conflict (org_id) do nothing',
      [id, orgId, master.id, nonce, ciphertext],
    );
    return em.findOneOrFail(DataKeyEntity, { orgId });
  }
}

function cacheKey(orgId: string, dataKeyId: string): string {
  return `${orgId}/${dataKeyId}`;
}
