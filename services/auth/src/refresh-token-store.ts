import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { RefreshTokenEntity } from './entities.js';
import { generateOpaqueToken, hashOpaqueToken } from './opaque-token.js';

export const REFRESH_TOKEN_PREFIX = 'fdr_';

export class RefreshTokenInvalidError extends Error {
  override readonly name = 'RefreshTokenInvalidError';
}

/**
 * Refresh tokens with rotation and reuse detection: each use consumes the token and issues its successor
 * in the same family; presenting a consumed token means it was stolen or replayed, so the whole family is
 * revoked and both holders must log in again.
 */
export class RefreshTokenStore {
  constructor(
    private readonly em: EntityManager,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a new family (a login); `em` lets a sign-up create the account and its token in one transaction. */
  issue(userId: string, em: EntityManager = this.em.fork()): Promise<string> {
    return this.insert(em, userId, uuidv7());
  }

  /** Consumes `token` and returns the user and the successor token. */
  async rotate(token: string): Promise<{ userId: string; token: string }> {
    return this.em.fork().transactional(async (em) => {
      const current = await em.findOne(RefreshTokenEntity, { tokenHash: hashOpaqueToken(token) });
      if (!current || current.revokedAt) throw new RefreshTokenInvalidError('the refresh token is not valid; log in again');
      // Consume atomically: of two concurrent uses of one token, only one may win.
      const consumed = await em.nativeUpdate(RefreshTokenEntity, { id: current.id, usedAt: null }, { usedAt: new Date(this.now()) });
      if (consumed === 0) {
        await em.nativeUpdate(RefreshTokenEntity, { familyId: current.familyId, revokedAt: null }, { revokedAt: new Date(this.now()) });
        return { reused: true } as const;
      }
      if (current.expiresAt.getTime() <= this.now()) throw new RefreshTokenInvalidError('the refresh token has expired; log in again');
      return { userId: current.userId, token: await this.insert(em, current.userId, current.familyId) };
    }).then((result) => {
      // Thrown after the transaction so the family's revocation is committed, not rolled back.
      if ('reused' in result) throw new RefreshTokenInvalidError('the refresh token was already used; every session of this login is revoked, log in again');
      return result;
    });
  }

  /** Revokes the family of `token` (logout). Unknown tokens are ignored: logging out twice is fine. */
  async revokeFamily(token: string): Promise<void> {
    const em = this.em.fork();
    const current = await em.findOne(RefreshTokenEntity, { tokenHash: hashOpaqueToken(token) });
    if (!current) return;
    await em.nativeUpdate(RefreshTokenEntity, { familyId: current.familyId, revokedAt: null }, { revokedAt: new Date(this.now()) });
  }

  private async insert(em: EntityManager, userId: string, familyId: string): Promise<string> {
    const { token, tokenHash } = generateOpaqueToken(REFRESH_TOKEN_PREFIX);
    const createdAt = new Date(this.now());
    em.create(RefreshTokenEntity, { id: uuidv7(), userId, familyId, tokenHash, createdAt, expiresAt: new Date(createdAt.getTime() + this.ttlMs) });
    await em.flush();
    return token;
  }
}
