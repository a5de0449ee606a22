import { Code } from '@connectrpc/connect';
import { withTenant } from '@foundation/db';
import { rpcError, type PageWindow } from '@foundation/kit';
import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import type { DataKeys } from './data-keys.js';
import { SecretEntity, SecretResolutionEntity, SecretVersionEntity, type Secret, type SecretVersion } from './entities.js';
import { AuthenticationFailedError, decryptValue, encryptValue } from './envelope.js';
import { SecretUndecryptableError } from './secret-undecryptable-error.js';

/** A new secret as its author wrote it. */
export interface NewSecret {
  name: string;
  description: string;
  value: string;
}

/** Who asked for a value, for the audit. */
export interface Resolver {
  callerService: string;
  runId: string;
}

/** The encrypted value a version stores. */
type StoredValue = Pick<SecretVersion, 'dataKeyId' | 'nonce' | 'ciphertext'>;

/**
 * Secrets and their versions. Every query runs in a tenant transaction, so row-level security confines
 * it to one org; values are encrypted before they reach a query and decrypted only by `resolve`.
 */
export class SecretStore {
  constructor(
    private readonly em: EntityManager,
    private readonly dataKeys: DataKeys,
  ) {}

  create(orgId: string, userId: string, { name, description, value }: NewSecret): Promise<Secret> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const dataKey = await this.dataKeys.current(em, orgId);
      const now = new Date();
      const secret = em.create(SecretEntity, {
        id: uuidv7(),
        orgId,
        name,
        description,
        version: 1,
        createdAt: now,
        createdBy: userId,
        updatedAt: now,
        updatedBy: userId,
      });
      try {
        await em.flush();
      } catch (e) {
        if (e instanceof UniqueConstraintViolationException) {
          throw rpcError(Code.AlreadyExists, 'SECRET_EXISTS', `the organization already has a secret named "${name}"; update it instead`, { field: 'name' });
        }
        throw e;
      }
      // A second flush: the entities declare no relation, so the unit of work would not order the secret first.
      this.addVersion(em, secret, { dataKeyId: dataKey.id, ...encryptValue(dataKey.key, { orgId, secretId: secret.id }, value) });
      await em.flush();
      return secret;
    });
  }

  /** Writes `value` as the next version. */
  update(orgId: string, userId: string, name: string, value: string): Promise<Secret> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const secret = await this.lockedSecret(em, orgId, name);
      const dataKey = await this.dataKeys.current(em, orgId);
      this.advance(secret, userId);
      this.addVersion(em, secret, { dataKeyId: dataKey.id, ...encryptValue(dataKey.key, { orgId, secretId: secret.id }, value) });
      await em.flush();
      return secret;
    });
  }

  /**
   * Makes version `version`'s value current as the next version, copying its ciphertext unchanged (the
   * encryption binds org and secret, not version), so a rollback never decrypts anything.
   */
  rollback(orgId: string, userId: string, name: string, version: number): Promise<Secret> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const secret = await this.lockedSecret(em, orgId, name);
      const earlier = await em.findOne(SecretVersionEntity, { orgId, secretId: secret.id, version });
      if (!earlier) throw rpcError(Code.NotFound, 'NOT_FOUND', `secret "${name}" has no version ${version}; its current version is ${secret.version}`);
      this.advance(secret, userId);
      this.addVersion(em, secret, { dataKeyId: earlier.dataKeyId, nonce: earlier.nonce, ciphertext: earlier.ciphertext });
      await em.flush();
      return secret;
    });
  }

  get(orgId: string, name: string): Promise<Secret> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const secret = await em.findOne(SecretEntity, { orgId, name });
      if (!secret) throw notFound(name);
      return secret;
    });
  }

  /** Secrets by name; the page cursor's key is the last name. */
  list(orgId: string, window: PageWindow): Promise<Secret[]> {
    return withTenant(this.em.fork(), orgId, (em) =>
      em.find(SecretEntity, { orgId, ...(window.after && { name: { $gt: window.after.key } }) }, { orderBy: { name: 'asc' }, limit: window.limit + 1 }),
    );
  }

  /** Deletes the secret and its versions (cascade); the resolution audit stays. */
  delete(orgId: string, name: string): Promise<void> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      if ((await em.nativeDelete(SecretEntity, { orgId, name })) === 0) throw notFound(name);
    });
  }

  /**
   * The current value, for the execution service. The audit row is written whether or not the value
   * decrypts, in the same transaction as the read; an undecryptable value is thrown after it commits.
   */
  async resolve(orgId: string, name: string, resolver: Resolver): Promise<{ value: string; version: number }> {
    const { outcome, version } = await withTenant(this.em.fork(), orgId, async (em) => {
      const secret = await em.findOne(SecretEntity, { orgId, name });
      if (!secret) throw notFound(name);
      const stored = await em.findOneOrFail(SecretVersionEntity, { orgId, secretId: secret.id, version: secret.version });
      let decrypted: { value: string } | { error: SecretUndecryptableError };
      try {
        decrypted = { value: await this.decrypt(em, secret, stored) };
      } catch (e) {
        if (!(e instanceof SecretUndecryptableError)) throw e;
        decrypted = { error: e };
      }
      const now = new Date();
      if ('value' in decrypted) secret.lastUsedAt = now;
      em.create(SecretResolutionEntity, {
        id: uuidv7(),
        orgId,
        secretId: secret.id,
        secretName: secret.name,
        version: secret.version,
        callerService: resolver.callerService,
        runId: resolver.runId,
        outcome: 'value' in decrypted ? 'resolved' : 'undecryptable',
        resolvedAt: now,
      });
      await em.flush();
      return { outcome: decrypted, version: secret.version };
    });
    if ('error' in outcome) throw outcome.error;
    return { value: outcome.value, version };
  }

  private async decrypt(em: EntityManager, secret: Secret, stored: SecretVersion): Promise<string> {
    const key = await this.dataKeys.byId(em, secret.orgId, stored.dataKeyId);
    try {
      return decryptValue(key, { orgId: secret.orgId, secretId: secret.id }, stored);
    } catch (e) {
      if (!(e instanceof AuthenticationFailedError)) throw e;
      throw new SecretUndecryptableError('value_tampered', {
        orgId: secret.orgId,
        dataKeyId: stored.dataKeyId,
        secretId: secret.id,
        version: stored.version,
      });
    }
  }

  /** The secret, locked until the transaction ends, so concurrent writers number their versions in turn. */
  private async lockedSecret(em: EntityManager, orgId: string, name: string): Promise<Secret> {
    const secret = await em.findOne(SecretEntity, { orgId, name }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!secret) throw notFound(name);
    return secret;
  }

  private advance(secret: Secret, userId: string): void {
    secret.version += 1;
    secret.updatedAt = new Date();
    secret.updatedBy = userId;
  }

  private addVersion(em: EntityManager, secret: Secret, value: StoredValue): void {
    em.create(SecretVersionEntity, {
      orgId: secret.orgId,
      secretId: secret.id,
      version: secret.version,
      ...value,
      createdAt: secret.updatedAt,
      createdBy: secret.updatedBy,
    });
  }
}

function notFound(name: string) {
  return rpcError(Code.NotFound, 'NOT_FOUND', `the organization has no secret named "${name}"`);
}
