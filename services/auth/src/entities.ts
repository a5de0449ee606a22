import { EntitySchema } from '@mikro-orm/core';

export const AUTH_SCHEMA = 'auth';

export interface User {
  id: string;
  /** Normalized (trimmed, lower-cased); unique. */
  email: string;
  displayName: string;
  passwordHash: string;
  createdAt: Date;
}

export const UserEntity = new EntitySchema<User>({
  name: 'User',
  schema: AUTH_SCHEMA,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    email: { type: 'string' },
    displayName: { type: 'string' },
    passwordHash: { type: 'string', lazy: true },
    createdAt: { type: 'Date' },
  },
});

/** One refresh token; tokens of one login share a family, so reuse of any revokes them all. */
export interface RefreshToken {
  id: string;
  userId: string;
  familyId: string;
  /** SHA-256 of the token; the token itself is never stored. */
  tokenHash: string;
  expiresAt: Date;
  /** Set when it was exchanged for its successor; presenting it again is reuse. */
  usedAt?: Date;
  revokedAt?: Date;
  createdAt: Date;
}

export const RefreshTokenEntity = new EntitySchema<RefreshToken>({
  name: 'RefreshToken',
  schema: AUTH_SCHEMA,
  tableName: 'refresh_tokens',
  properties: {
    id: { type: 'uuid', primary: true },
    userId: { type: 'uuid' },
    familyId: { type: 'uuid' },
    tokenHash: { type: 'string' },
    expiresAt: { type: 'Date' },
    usedAt: { type: 'Date', nullable: true },
    revokedAt: { type: 'Date', nullable: true },
    createdAt: { type: 'Date' },
  },
});

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  /** The first characters of the token, shown in lists so people can recognise it. */
  prefix: string;
  tokenHash: string;
  expiresAt?: Date;
  revokedAt?: Date;
  createdAt: Date;
}

export const ApiTokenEntity = new EntitySchema<ApiToken>({
  name: 'ApiToken',
  schema: AUTH_SCHEMA,
  tableName: 'api_tokens',
  properties: {
    id: { type: 'uuid', primary: true },
    userId: { type: 'uuid' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    tokenHash: { type: 'string' },
    expiresAt: { type: 'Date', nullable: true },
    revokedAt: { type: 'Date', nullable: true },
    createdAt: { type: 'Date' },
  },
});

/** An ES256 key pair that signs access tokens; `kid` is the id. Retired keys leave the JWKS. */
export interface SigningKey {
  kid: string;
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  retiredAt?: Date;
}

export const SigningKeyEntity = new EntitySchema<SigningKey>({
  name: 'SigningKey',
  schema: AUTH_SCHEMA,
  tableName: 'signing_keys',
  properties: {
    kid: { type: 'string', primary: true },
    privateJwk: { type: 'json', lazy: true },
    publicJwk: { type: 'json' },
    createdAt: { type: 'Date' },
    retiredAt: { type: 'Date', nullable: true },
  },
});

export const AUTH_ENTITIES = [UserEntity, RefreshTokenEntity, ApiTokenEntity, SigningKeyEntity];
