import { randomBytes } from 'node:crypto';
import { InvalidServiceTokenError, ServiceTokenIssuer, ServiceTokenVerifier } from '@foundation/kit';
import { expect } from 'chai';

describe('service tokens', () => {
  const key = randomBytes(32);
  const audience = 'foundation.auth.v1.AuthService';

  it('tell the called service who calls', async () => {
    const token = await new ServiceTokenIssuer(key, 'org').tokenFor(audience);
    expect(await new ServiceTokenVerifier(key).verify(token, audience)).to.equal('org');
  });

  it('are reused until shortly before they expire', async () => {
    let now = Date.now();
    const issuer = new ServiceTokenIssuer(key, 'org', () => now);
    const first = await issuer.tokenFor(audience);
    now += 200_000;
    expect(await issuer.tokenFor(audience)).to.equal(first);
    now += 60_000;
    expect(await issuer.tokenFor(audience)).not.to.equal(first);
  });

  const refusals: [string, () => Promise<string>, string][] = [
    ['for another service', async () => new ServiceTokenIssuer(key, 'org').tokenFor('foundation.org.v1.OrgService'), '"aud"'],
    ['signed with another key', async () => new ServiceTokenIssuer(randomBytes(32), 'org').tokenFor(audience), 'invalid'],
    ['expired', async () => new ServiceTokenIssuer(key, 'org', () => Date.now() - 600_000).tokenFor(audience), 'expired'],
    ['not a JWT', async () => 'garbage', 'invalid'],
  ];
  for (const [what, mint, message] of refusals) {
    it(`are refused when ${what}`, async () => {
      const token = await mint();
      const error = await new ServiceTokenVerifier(key).verify(token, audience).then(
        () => expect.fail('accepted'),
        (e: unknown) => e as Error,
      );
      expect(error).to.be.instanceOf(InvalidServiceTokenError);
      expect(error.message).to.contain(message);
    });
  }

  it('are accepted again, checked once, only until they expire', async () => {
    let now = Date.now();
    const token = await new ServiceTokenIssuer(key, 'org', () => now).tokenFor(audience);
    const verifier = new ServiceTokenVerifier(key, () => now);
    expect(await verifier.verify(token, audience)).to.equal('org');
    now += 299_000;
    expect(await verifier.verify(token, audience)).to.equal('org');
    now += 1_000;
    const error = await verifier.verify(token, audience).then(
      () => expect.fail('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error).to.be.instanceOf(InvalidServiceTokenError);
    expect(error.message).to.contain('expired');
  });

  it('are refused for another service also once accepted for theirs', async () => {
    const token = await new ServiceTokenIssuer(key, 'org').tokenFor(audience);
    const verifier = new ServiceTokenVerifier(key);
    await verifier.verify(token, audience);
    const error = await verifier.verify(token, 'foundation.org.v1.OrgService').then(
      () => expect.fail('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error).to.be.instanceOf(InvalidServiceTokenError);
    expect(error.message).to.contain('"aud"');
  });

  it('are refused when altered, also after the original was accepted', async () => {
    const token = await new ServiceTokenIssuer(key, 'org').tokenFor(audience);
    const verifier = new ServiceTokenVerifier(key);
    await verifier.verify(token, audience);
    const [header, payload, signature] = token.split('.');
    const forged = [header, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), iss: 'auth' })).toString('base64url'), signature].join('.');
    const error = await verifier.verify(forged, audience).then(
      () => expect.fail('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error).to.be.instanceOf(InvalidServiceTokenError);
  });

  it('need a key of at least 32 bytes', () => {
    expect(() => new ServiceTokenVerifier(randomBytes(16))).to.throw(/at least 32 bytes/);
  });
});
