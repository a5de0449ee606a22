import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ACCESS_TOKEN_ALGORITHM } from '@foundation/kit';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { SigningKeyEntity } from './entities.js';

/** Serializes key creation across auth instances starting at once (an arbitrary, fixed advisory lock id). */
const KEY_CREATION_LOCK = 0x5f_a1_7e;

export interface ActiveSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * The ES256 keys that sign access tokens. The newest unretired key signs; every unretired key is published
 * in the JWKS, so tokens signed before a rotation keep verifying until they expire. Rotation adds a key
 * with a new `kid`; verifiers pick it up when they first see that kid.
 */
export class SigningKeyStore {
  private active: ActiveSigningKey | undefined;

  constructor(private readonly em: EntityManager) {}

  /** The key to sign with; creates the first key on a fresh database. */
  async activeKey(): Promise<ActiveSigningKey> {
    if (this.active) return this.active;
    const em = this.em.fork();
    let newest = await em.findOne(SigningKeyEntity, { retiredAt: null }, { orderBy: { createdAt: 'desc' }, populate: ['privateJwk'] });
    if (!newest) {
      await this.rotate();
      newest = await em.findOneOrFail(SigningKeyEntity, { retiredAt: null }, { orderBy: { createdAt: 'desc' }, populate: ['privateJwk'] });
    }
    this.active = { kid: newest.kid, privateKey: (await importJWK(newest.privateJwk as JWK, ACCESS_TOKEN_ALGORITHM)) as CryptoKey };
    return this.active;
  }

  /** Adds a new signing key and makes it the active one. Returns its kid. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALGORITHM };
    await this.em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?)', [KEY_CREATION_LOCK]);
      em.create(SigningKeyEntity, { kid, publicJwk, privateJwk, createdAt: new Date() });
    });
    this.active = undefined;
    return kid;
  }

  async jwks(): Promise<JSONWebKeySet> {
    const keys = await this.em.fork().find(SigningKeyEntity, { retiredAt: null }, { orderBy: { createdAt: 'desc' } });
    return { keys: keys.map((k) => k.publicJwk as JWK) };
  }
}
