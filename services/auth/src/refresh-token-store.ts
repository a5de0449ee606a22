import { dateOf, optionalDateOf, querySql, withSqlTransaction, type SqlTransaction } from '@foundation/db';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { generateOpaqueToken, hashOpaqueToken } from './opaque-token.js';
import { AUTH_SCHEMA, type RefreshToken } from './records.js';

export const REFRESH_TOKEN_PREFIX = 'fdr_';

export class RefreshTokenInvalidError extends Error {
  override readonly name = 'RefreshTokenInvalidError';
}

interface RefreshTokenRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: unknown;
  used_at: unknown;
  revoked_at: unknown;
}

/**
 * Refresh tokens with rotation and reuse detection: each use consumes the token and issues its successor
 * in the same family; presenting a consumed token means it was stolen or replayed, so the whole family is
 * revoked and both holders must log in again.
 */
export class RefreshTokenStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a new family (a login); `tx` lets a sign-up create the account and its token in one transaction. */
  issue(userId: string, tx?: SqlTransaction): Promise<string> {
    return this.insert(tx ?? { query: (sql, params) => querySql(this.pool, sql, params) }, userId, uuidv7());
  }

  /** Consumes `token` and returns the user and the successor token. */
  async rotate(token: string): Promise<{ userId: string; token: string }> {
    const result = await withSqlTransaction(this.pool, async (tx) => {
      const current = await this.find(tx, token);
      if (!current || current.revokedAt) throw new RefreshTokenInvalidError('the refresh token is not valid; log in again');
      // Consume atomically: of two concurrent uses of one token, only one may win.
      const consumed = await tx.query(`update ${AUTH_SCHEMA}.refresh_tokens set used_at = $2 where id = $1 and used_at is null returning id`, [
        current.id,
        new Date(this.now()),
      ]);
      if (consumed.length === 0) {
        await this.revokeFamilyOf(tx, current.familyId);
        return { reused: true } as const;
      }
      if (current.expiresAt.getTime() <= this.now()) throw new RefreshTokenInvalidError('the refresh token has expired; log in again');
      return { userId: current.userId, token: await this.insert(tx, current.userId, current.familyId) };
    });
    // Thrown after the transaction so the family's revocation is committed, not rolled back.
    if ('reused' in result) throw new RefreshTokenInvalidError('the refresh token was already used; every session of this login is revoked, log in again');
    return result;
  }

  /** Revokes the family of `token` (logout). Unknown tokens are ignored: logging out twice is fine. */
  async revokeFamily(token: string): Promise<void> {
    await querySql(
      this.pool,
      `update ${AUTH_SCHEMA}.refresh_tokens set revoked_at = $2
       where family_id = (select family_id from ${AUTH_SCHEMA}.refresh_tokens where token_hash = $1) and revoked_at is null`,
      [hashOpaqueToken(token), new Date(this.now())],
    );
  }

  private async find(tx: SqlTransaction, token: string): Promise<RefreshToken | undefined> {
    const [row] = await tx.query<RefreshTokenRow>(
      `select id, user_id, family_id, expires_at, used_at, revoked_at from ${AUTH_SCHEMA}.refresh_tokens where token_hash = $1`,
      [hashOpaqueToken(token)],
    );
    return (
      row && {
        id: row.id,
        userId: row.user_id,
        familyId: row.family_id,
        expiresAt: dateOf(row.expires_at),
        usedAt: optionalDateOf(row.used_at),
        revokedAt: optionalDateOf(row.revoked_at),
      }
    );
  }

  private async revokeFamilyOf(tx: SqlTransaction, familyId: string): Promise<void> {
    await tx.query(`update ${AUTH_SCHEMA}.refresh_tokens set revoked_at = $2 where family_id = $1 and revoked_at is null`, [familyId, new Date(this.now())]);
  }

  private async insert(tx: SqlTransaction, userId: string, familyId: string): Promise<string> {
    const { token, tokenHash } = generateOpaqueToken(REFRESH_TOKEN_PREFIX);
    const createdAt = new Date(this.now());
    await tx.query(
      `insert into ${AUTH_SCHEMA}.refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) values ($1, $2, $3, $4, $5, $6)`,
      [uuidv7(), userId, familyId, tokenHash, createdAt, new Date(createdAt.getTime() + this.ttlMs)],
    );
    return token;
  }
}
