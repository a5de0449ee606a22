import { randomUUID } from 'node:crypto';
import { querySql, withSqlTransaction } from '@foundation/db';
import { ACCESS_TOKEN_ALGORITHM } from '@foundation/kit';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import type pg from 'pg';
import { AUTH_SCHEMA } from './records.js';

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

  constructor(private readonly pool: pg.Pool) {}

  /** The key to sign with; creates the first key on a fresh database. */
  async activeKey(): Promise<ActiveSigningKey> {
    if (this.active) return this.active;
    let newest = await this.newestPrivateKey();
    if (!newest) {
      await this.rotate();
      newest = await this.newestPrivateKey();
      if (!newest) throw new Error('no signing key is left right after adding one: another process retired it');
    }
    this.active = { kid: newest.kid, privateKey: (await importJWK(newest.private_jwk, ACCESS_TOKEN_ALGORITHM)) as CryptoKey };
    return this.active;
  }

  /** Adds a new signing key and makes it the active one. Returns its kid. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ACCESS_TOKEN_ALGORITHM };
    await withSqlTransaction(this.pool, async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [KEY_CREATION_LOCK]);
      await tx.query(`insert into ${AUTH_SCHEMA}.signing_keys (kid, public_jwk, private_jwk, created_at) values ($1, $2, $3, clock_timestamp())`, [
        kid,
        publicJwk,
        privateJwk,
      ]);
    });
    this.active = undefined;
    return kid;
  }

  async jwks(): Promise<JSONWebKeySet> {
    const rows = await querySql<{ public_jwk: JWK }>(
      this.pool,
      `select public_jwk from ${AUTH_SCHEMA}.signing_keys where retired_at is null order by created_at desc`,
    );
    return { keys: rows.map((r) => r.public_jwk) };
  }

  private async newestPrivateKey(): Promise<{ kid: string; private_jwk: JWK } | undefined> {
    const [row] = await querySql<{ kid: string; private_jwk: JWK }>(
      this.pool,
      `select kid, private_jwk from ${AUTH_SCHEMA}.signing_keys where retired_at is null order by created_at desc limit 1`,
    );
    return row;
  }
}
