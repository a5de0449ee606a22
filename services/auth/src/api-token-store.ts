import type { EntityManager } from '@mikro-orm/postgresql';
import { API_TOKEN_PREFIX, type PageWindow } from '@foundation/kit';
import { v7 as uuidv7 } from 'uuid';
import { ApiTokenEntity, type ApiToken } from './entities.js';
import { generateOpaqueToken, hashOpaqueToken } from './opaque-token.js';

/** How many characters of a token its list entry shows (the prefix plus a few). */
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 6;

/** API tokens for programs: shown once at creation, stored as a hash, revocable, optionally expiring. */
export class ApiTokenStore {
  constructor(
    private readonly em: EntityManager,
    private readonly now: () => number = Date.now,
  ) {}

  async create(userId: string, name: string, expiresAt: Date | undefined): Promise<{ apiToken: ApiToken; token: string }> {
    const em = this.em.fork();
    const { token, tokenHash } = generateOpaqueToken(API_TOKEN_PREFIX);
    const apiToken = em.create(ApiTokenEntity, {
      id: uuidv7(),
      userId,
      name,
      prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
      tokenHash,
      expiresAt,
      createdAt: new Date(this.now()),
    });
    await em.flush();
    return { apiToken, token };
  }

  /** The user's tokens, newest first (ids are UUIDv7, so id order is creation order). */
  list(userId: string, window: PageWindow): Promise<ApiToken[]> {
    return this.em.fork().find(
      ApiTokenEntity,
      { userId, ...(window.after && { id: { $lt: window.after.id } }) },
      { orderBy: { id: 'desc' }, limit: window.limit + 1 },
    );
  }

  /** False when the id is not one of the user's tokens. Revoking twice is fine. */
  async revoke(userId: string, id: string): Promise<boolean> {
    const em = this.em.fork();
    const apiToken = await em.findOne(ApiTokenEntity, { id, userId });
    if (!apiToken) return false;
    apiToken.revokedAt ??= new Date(this.now());
    await em.flush();
    return true;
  }

  /** The token's owner, or undefined for an unknown, revoked or expired token. */
  async authenticate(token: string): Promise<ApiToken | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const apiToken = await this.em.fork().findOne(ApiTokenEntity, { tokenHash: hashOpaqueToken(token) });
    if (!apiToken || apiToken.revokedAt) return undefined;
    if (apiToken.expiresAt && apiToken.expiresAt.getTime() <= this.now()) return undefined;
    return apiToken;
  }
}
