import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { AuthenticationFailedError, decryptValue, encryptValue, generateDataKey, unwrapDataKey, wrapDataKey } from '../src/envelope.js';

describe('Envelope encryption', () => {
  const masterKey = generateDataKey();
  const dataKey = generateDataKey();
  const orgId = randomUUID();
  const dataKeyId = randomUUID();
  const secretId = randomUUID();
  const value = 'sk_live_do-not-leak';

  const expectAuthenticationFailure = (open: () => unknown) => {
    let error: unknown;
    try {
      open();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(AuthenticationFailedError);
    expect((error as Error).message).to.not.contain(value);
  };

  describe('data keys', () => {
    const sealed = wrapDataKey(masterKey, { orgId, dataKeyId }, dataKey);

    it('unwraps with the master key, org and id it was wrapped for', () => {
      expect(unwrapDataKey(masterKey, { orgId, dataKeyId }, sealed).equals(dataKey)).to.equal(true);
      expect(sealed.ciphertext.includes(dataKey)).to.equal(false);
    });

    it('refuses another org, another id or another master key', () => {
      expectAuthenticationFailure(() => unwrapDataKey(masterKey, { orgId: randomUUID(), dataKeyId }, sealed));
      expectAuthenticationFailure(() => unwrapDataKey(masterKey, { orgId, dataKeyId: randomUUID() }, sealed));
      expectAuthenticationFailure(() => unwrapDataKey(generateDataKey(), { orgId, dataKeyId }, sealed));
    });
  });

  describe('values', () => {
    const sealed = encryptValue(dataKey, { orgId, secretId }, value);

    it('decrypts with the data key, org and secret it was encrypted for, with a fresh nonce each time', () => {
      expect(decryptValue(dataKey, { orgId, secretId }, sealed)).to.equal(value);
      expect(sealed.ciphertext.toString('latin1')).to.not.contain(value);
      expect(encryptValue(dataKey, { orgId, secretId }, value).nonce.equals(sealed.nonce)).to.equal(false);
    });

    it('refuses another secret, another org or a wrapped data key passed off as a value', () => {
      expectAuthenticationFailure(() => decryptValue(dataKey, { orgId, secretId: randomUUID() }, sealed));
      expectAuthenticationFailure(() => decryptValue(dataKey, { orgId: randomUUID(), secretId }, sealed));
      const wrapped = wrapDataKey(dataKey, { orgId, dataKeyId: secretId }, Buffer.from(value));
      expectAuthenticationFailure(() => decryptValue(dataKey, { orgId, secretId }, wrapped));
    });

    it('refuses any flipped bit of the ciphertext, tag or nonce, and a truncated ciphertext', () => {
      for (const index of [0, sealed.ciphertext.length - 1]) {
        const ciphertext = Buffer.from(sealed.ciphertext);
        ciphertext[index]! ^= 1;
        expectAuthenticationFailure(() => decryptValue(dataKey, { orgId, secretId }, { ...sealed, ciphertext }));
      }
      const nonce = Buffer.from(sealed.nonce);
      nonce[0]! ^= 1;
      expectAuthenticationFailure(() => decryptValue(dataKey, { orgId, secretId }, { ...sealed, nonce }));
      expectAuthenticationFailure(() => decryptValue(dataKey, { orgId, secretId }, { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 8) }));
    });
  });
});
