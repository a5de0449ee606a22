import { dateOf, optionalDateOf, querySql } from '@foundation/db';
import { API_TOKEN_PREFIX, type PageWindow } from '@foundation/kit';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { generateOpaqueToken, hashOpaqueToken } from './opaque-token.js';
import { AUTH_SCHEMA, type ApiToken } from './records.js';

/** How many characters of a token its list entry shows (the prefix plus a few). */
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 6;

interface ApiTokenRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  expires_at: unknown;
  revoked_at: unknown;
  created_at: unknown;
}

const API_TOKEN_COLUMNS = 'id, user_id, name, prefix, expires_at, revoked_at, created_at';

/** API tokens for programs: shown once at creation, stored as a hash, revocable, optionally expiring. */
export class ApiTokenStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async create(userId: string, name: string, expiresAt: Date | undefined): Promise<{ apiToken: ApiToken; token: string }> {
    const { token, tokenHash } = generateOpaqueToken(API_TOKEN_PREFIX);
    const [row] = await querySql<ApiTokenRow>(
      this.pool,
      `insert into ${AUTH_SCHEMA}.api_tokens (id, user_id, name, prefix, token_hash, expires_at, created_at) values ($1, $2, $3, $4, $5, $6, $7)
       returning ${API_TOKEN_COLUMNS}`,
      [uuidv7(), userId, name, token.slice(0, SHOWN_PREFIX_LENGTH), tokenHash, expiresAt ?? null, new Date(this.now())],
    );
    return { apiToken: apiTokenOf(row!), token };
  }

  /** The user's tokens, newest first (ids are UUIDv7, so id order is creation order). */
  async list(userId: string, window: PageWindow): Promise<ApiToken[]> {
    const rows = await querySql<ApiTokenRow>(
      this.pool,
      `select ${API_TOKEN_COLUMNS} from ${AUTH_SCHEMA}.api_tokens
       where user_id = $1 and ($2::uuid is null or id < $2) order by id desc limit $3`,
      [userId, window.after?.id ?? null, window.limit + 1],
    );
    return rows.map(apiTokenOf);
  }

  /** False when the id is not one of the user's tokens. Revoking twice is fine and keeps the first time. */
  async revoke(userId: string, id: string): Promise<boolean> {
    const rows = await querySql(
      this.pool,
      `update ${AUTH_SCHEMA}.api_tokens set revoked_at = coalesce(revoked_at, $3) where id = $1 and user_id = $2 returning id`,
      [id, userId, new Date(this.now())],
    );
    return rows.length > 0;
  }

  /** The token's owner, or undefined for an unknown, revoked or expired token. */
  async authenticate(token: string): Promise<ApiToken | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const [row] = await querySql<ApiTokenRow>(this.pool, `select ${API_TOKEN_COLUMNS} from ${AUTH_SCHEMA}.api_tokens where token_hash = $1`, [
      hashOpaqueToken(token),
    ]);
    const apiToken = row && apiTokenOf(row);
    if (!apiToken || apiToken.revokedAt) return undefined;
    if (apiToken.expiresAt && apiToken.expiresAt.getTime() <= this.now()) return undefined;
    return apiToken;
  }
}

function apiTokenOf(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    expiresAt: optionalDateOf(row.expires_at),
    revokedAt: optionalDateOf(row.revoked_at),
    createdAt: dateOf(row.created_at),
  };
}
