import { AccessTokenVerifier, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, InvalidAccessTokenError } from '@foundation/kit';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } as JWK };
}

function sign(privateKey: CryptoKey, kid: string, claims: { sub?: string; exp?: number } = {}) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setSubject(claims.sub ?? 'user-1')
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setExpirationTime(claims.exp ?? '5m')
    .sign(privateKey);
}

describe('AccessTokenVerifier', () => {
  it('fetches the key set once and picks up a rotated key on its first unknown kid', async () => {
    const first = await keyPair('k1');
    const second = await keyPair('k2');
    let published: JSONWebKeySet = { keys: [first.jwk] };
    let fetches = 0;
    const verifier = new AccessTokenVerifier({ fetchJwks: async () => (fetches++, published), maxAgeMs: 60_000, refetchCooldownMs: 0 });
    expect(await verifier.verify(await sign(first.privateKey, 'k1'))).to.equal('user-1');
    expect(await verifier.verify(await sign(first.privateKey, 'k1'))).to.equal('user-1');
    expect(fetches).to.equal(1);
    published = { keys: [second.jwk, first.jwk] };
    expect(await verifier.verify(await sign(second.privateKey, 'k2', { sub: 'user-2' }))).to.equal('user-2');
    expect(fetches).to.equal(2);
  });

  it('does not refetch for unknown kids within the cooldown', async () => {
    const known = await keyPair('known');
    const forged = await keyPair('forged');
    let fetches = 0;
    const verifier = new AccessTokenVerifier({ fetchJwks: async () => (fetches++, { keys: [known.jwk] }), maxAgeMs: 60_000, refetchCooldownMs: 60_000 });
    await verifier.verify(await sign(known.privateKey, 'known'));
    for (let i = 0; i < 3; i++) {
      await verifier.verify(await sign(forged.privateKey, 'forged')).then(
        () => expect.fail('a token of an unknown key was accepted'),
        (e: unknown) => expect(e).to.be.instanceOf(InvalidAccessTokenError),
      );
    }
    expect(fetches).to.equal(1);
  });

  it('remembers a verified token only until it expires', async () => {
    const key = await keyPair('k');
    let now = Date.now();
    let published: JSONWebKeySet = { keys: [key.jwk] };
    const verifier = new AccessTokenVerifier({ fetchJwks: async () => published, maxAgeMs: 10_000, refetchCooldownMs: 0, now: () => now });
    const token = await sign(key.privateKey, 'k', { exp: Math.floor(now / 1000) + 60 });
    expect(await verifier.verify(token)).to.equal('user-1');
    // A fresh verification now would fetch a key set without the key and fail: only memory can answer.
    published = { keys: [] };
    now += 20_000;
    expect(await verifier.verify(token)).to.equal('user-1');
    now += 41_000;
    await verifier.verify(token).then(
      () => expect.fail('an expired token was accepted from memory'),
      (e: unknown) => expect(e).to.be.instanceOf(InvalidAccessTokenError),
    );
  });

  it('refuses alg none, a foreign signature and an expired token', async () => {
    const key = await keyPair('k');
    const other = await keyPair('k');
    const verifier = new AccessTokenVerifier({ fetchJwks: async () => ({ keys: [key.jwk] }), maxAgeMs: 60_000, refetchCooldownMs: 60_000 });
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', kid: 'k' })}.${encode({ sub: 'x', iss: ACCESS_TOKEN_ISSUER, aud: ACCESS_TOKEN_AUDIENCE, exp: 9_999_999_999 })}.`;
    const tokens = [unsigned, await sign(other.privateKey, 'k'), await sign(key.privateKey, 'k', { exp: Math.floor(Date.now() / 1000) - 10 })];
    const messages = [];
    for (const token of tokens) {
      messages.push(await verifier.verify(token).then(() => 'accepted', (e: Error) => (expect(e).to.be.instanceOf(InvalidAccessTokenError), e.message)));
    }
    expect(messages).to.deep.equal([
      'the access token is not signed with ES256',
      'the access token signature is invalid',
      'the access token has expired; refresh it',
    ]);
  });
});
