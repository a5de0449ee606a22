import { EntitySchema } from '@mikro-orm/core';

export const SECRETS_SCHEMA = 'secrets';

/** A secret's metadata and which version is current; the values live in `SecretVersion`s. */
export interface Secret {
  id: string;
  orgId: string;
  name: string;
  description: string;
  version: number;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
  lastUsedAt?: Date;
}

export const SecretEntity = new EntitySchema<Secret>({
  name: 'Secret',
  schema: SECRETS_SCHEMA,
  tableName: 'secrets',
  properties: {
    id: { type: 'uuid', primary: true },
    orgId: { type: 'uuid' },
    name: { type: 'string' },
    description: { type: 'string' },
    version: { type: 'integer' },
    createdAt: { type: 'Date' },
    createdBy: { type: 'uuid' },
    updatedAt: { type: 'Date' },
    updatedBy: { type: 'uuid' },
    lastUsedAt: { type: 'Date', nullable: true },
  },
});

/**
 * One version of a secret's value, encrypted with the org's data key `dataKeyId` (AES-256-GCM; the tag is
 * the last 16 bytes of `ciphertext`). Versions are never rewritten.
 */
export interface SecretVersion {
  orgId: string;
  secretId: string;
  version: number;
  dataKeyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  createdAt: Date;
  createdBy: string;
}

export const SecretVersionEntity = new EntitySchema<SecretVersion>({
  name: 'SecretVersion',
  schema: SECRETS_SCHEMA,
  tableName: 'secret_versions',
  properties: {
    orgId: { type: 'uuid', primary: true },
    secretId: { type: 'uuid', primary: true },
    version: { type: 'integer', primary: true },
    dataKeyId: { type: 'uuid' },
    nonce: { type: 'blob' },
    ciphertext: { type: 'blob' },
    createdAt: { type: 'Date' },
    createdBy: { type: 'uuid' },
  },
});

/**
 * An org's data key, wrapped (AES-256-GCM) by the master key `masterKeyId`. Only the wrapped form is
 * stored; rotating the master key rewrites `masterKeyId`, `nonce` and `wrappedKey`, never the key itself.
 */
export interface DataKey {
  id: string;
  orgId: string;
  masterKeyId: string;
  nonce: Buffer;
  wrappedKey: Buffer;
  createdAt: Date;
  rewrappedAt?: Date;
}

export const DataKeyEntity = new EntitySchema<DataKey>({
  name: 'DataKey',
  schema: SECRETS_SCHEMA,
  tableName: 'data_keys',
  properties: {
    id: { type: 'uuid', primary: true },
    orgId: { type: 'uuid' },
    masterKeyId: { type: 'string' },
    nonce: { type: 'blob' },
    wrappedKey: { type: 'blob' },
    createdAt: { type: 'Date' },
    rewrappedAt: { type: 'Date', nullable: true },
  },
});

/** What became of a ResolveSecret call that found its secret. */
export type ResolutionOutcome = 'resolved' | 'undecryptable';

/**
 * The audit of ResolveSecret: which service read which secret for which run, and when. Kept when the
 * secret is deleted (no foreign key), so the name is copied.
 */
export interface SecretResolution {
  id: string;
  orgId: string;
  secretId: string;
  secretName: string;
  version: number;
  callerService: string;
  runId: string;
  outcome: ResolutionOutcome;
  resolvedAt: Date;
}

export const SecretResolutionEntity = new EntitySchema<SecretResolution>({
  name: 'SecretResolution',
  schema: SECRETS_SCHEMA,
  tableName: 'secret_resolutions',
  properties: {
    id: { type: 'uuid', primary: true },
    orgId: { type: 'uuid' },
    secretId: { type: 'uuid' },
    secretName: { type: 'string' },
    version: { type: 'integer' },
    callerService: { type: 'string' },
    runId: { type: 'uuid' },
    outcome: { type: 'string' },
    resolvedAt: { type: 'Date' },
  },
});

export const SECRETS_ENTITIES = [SecretEntity, SecretVersionEntity, DataKeyEntity, SecretResolutionEntity];
