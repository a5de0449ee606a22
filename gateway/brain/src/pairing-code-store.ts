import type pg from 'pg';
import { isUniqueViolation, querySql, withTenantSql } from '@foundation/db';
import type { ExecutorStore, NodeFactsRecord } from './executor-store.js';
import { generateNodeCredential } from './node-credential.js';
import { generatePairingCode, hashPairingCode, normalizePairingCode } from './pairing-code.js';

export type Redemption =
  | { outcome: 'unknown' | 'expired' | 'used' }
  | { outcome: 'paired'; orgId: string; executorId: string; credential: string };

/** New codes tried before giving up on a collision with a live one (each try has ~1e-8 odds of one). */
const CREATE_ATTEMPTS = 5;

/** Pairing codes: created by an org's admins, stored hashed, redeemed once by a node before they expire. */
export class PairingCodeStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly executors: ExecutorStore,
  ) {}

  async create(orgId: string, createdBy: string, label: string, ttlMs: number): Promise<{ code: string; expiresAt: Date }> {
    for (let attempt = 1; ; attempt++) {
      const code = generatePairingCode();
      const expiresAt = new Date(Date.now() + ttlMs);
      try {
        await withTenantSql(this.pool, orgId, (tx) =>
          tx.query(
            `insert into brain.pairing_codes (code_hash, org_id, label, created_by, created_at, expires_at) values ($1, $2, $3, $4, now(), $5)`,
            [hashPairingCode(normalizePairingCode(code)!), orgId, label, createdBy, expiresAt],
          ),
        );
        return { code, expiresAt };
      } catch (e) {
        if (!isUniqueViolation(e) || attempt >= CREATE_ATTEMPTS) throw e;
      }
    }
  }

  /**
   * Redeems `text` for a new executor. The code row is locked while it is checked and marked used, so two
   * nodes racing with one code get one executor between them.
   */
  async redeem(text: string, name: string, facts: NodeFactsRecord): Promise<Redemption> {
    const normalized = normalizePairingCode(text);
    if (!normalized) return { outcome: 'unknown' };
    const codeHash = hashPairingCode(normalized);
    const found = await querySql(this.pool, 'select brain.pairing_code_org($1) as org_id', [codeHash]);
    const orgId = found[0]?.['org_id'] as string | null | undefined;
    if (!orgId) return { outcome: 'unknown' };
    return withTenantSql(this.pool, orgId, async (tx): Promise<Redemption> => {
      const rows = await tx.query('select expires_at, used_at from brain.pairing_codes where code_hash = $1 for update', [codeHash]);
      const row = rows[0];
      if (!row) return { outcome: 'unknown' };
      if (row['used_at']) return { outcome: 'used' };
      if ((row['expires_at'] as Date).getTime() <= Date.now()) return { outcome: 'expired' };
      const { credential, credentialHash } = generateNodeCredential();
      const executorId = await this.executors.insert(tx, orgId, name, facts, credentialHash);
      await tx.query('update brain.pairing_codes set used_at = now(), executor_id = $2 where code_hash = $1', [codeHash, executorId]);
      return { outcome: 'paired', orgId, executorId, credential };
    });
  }
}
