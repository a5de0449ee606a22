import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@foundation/kit';
import { expect } from 'chai';
import { ensureKeyringFile, generateMasterKey, masterKeyId, readKeyringFile, writeKeyringFile } from '../src/keyring-file.js';
import { MasterKeyring } from '../src/master-keyring.js';

describe('Master keyring', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'foundation-keyring-test-'));
    file = join(dir, 'master-keys.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function configErrorOf(read: Promise<unknown>): Promise<ConfigError> {
    try {
      await read;
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('creates a file of one key, readable by its owner only, and leaves an existing one alone', async () => {
    await ensureKeyringFile(file);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    const first = await readKeyringFile(file);
    await ensureKeyringFile(file);
    const again = await readKeyringFile(file);
    expect(again.activeKeyId).to.equal(first.activeKeyId);
    expect([...first.keys.keys()]).to.deep.equal([first.activeKeyId]);
  });

  it('names a key by the SHA-256 of its bytes, as an operator can compute with sha256sum', () => {
    const { id, key } = generateMasterKey();
    const digest = execFileSync('sha256sum', { input: key }).toString().slice(0, 16);
    expect(id).to.equal(`mk-${digest}`).and.equal(masterKeyId(key));
  });

  it('refuses a missing, malformed or inconsistent file with a ConfigError that names the variable and quotes no key', async () => {
    expect((await configErrorOf(readKeyringFile(file))).message).to.contain('FOUNDATION_MASTER_KEY_FILE').and.contain(file);
    const { id, key } = generateMasterKey();
    const base64 = key.toString('base64');
    const cases = [
      'not json',
      JSON.stringify({ activeKeyId: id }),
      JSON.stringify({ activeKeyId: 'mk-other', keys: { [id]: base64 } }),
      JSON.stringify({ activeKeyId: id, keys: { [id]: key.subarray(0, 16).toString('base64') } }),
      JSON.stringify({ activeKeyId: 'a b', keys: { 'a b': base64 } }),
    ];
    for (const text of cases) {
      await writeFile(file, text);
      const error = await configErrorOf(readKeyringFile(file));
      expect(error.message).to.contain('FOUNDATION_MASTER_KEY_FILE');
      expect(error.message).to.not.contain(base64);
    }
  });

  it('re-reads the file for a key id it does not know, and before wrapping once the file changed', async () => {
    await ensureKeyringFile(file);
    const keyring = await MasterKeyring.load({ file });
    const before = await keyring.active();
    const next = generateMasterKey();
    const contents = await readKeyringFile(file);
    contents.keys.set(next.id, next.key);
    contents.activeKeyId = next.id;
    await writeKeyringFile(file, contents);

    expect((await keyring.key(next.id))?.equals(next.key)).to.equal(true);
    expect((await keyring.key(before.id))?.equals(before.key)).to.equal(true);
    expect(await keyring.key('mk-unknown')).to.equal(undefined);
    expect((await keyring.active()).id).to.equal(next.id);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
  });

  it('picks up a new active key on wrapping even before meeting its id', async () => {
    await ensureKeyringFile(file);
    const keyring = await MasterKeyring.load({ file });
    const next = generateMasterKey();
    const contents = await readKeyringFile(file);
    await writeKeyringFile(file, { activeKeyId: next.id, keys: new Map([...contents.keys, [next.id, next.key]]) });
    expect((await keyring.active()).id).to.equal(next.id);
  });

  it('takes one key from FOUNDATION_MASTER_KEY, named the same way', async () => {
    const { id, key } = generateMasterKey();
    const keyring = await MasterKeyring.load({ key: key.toString('base64') });
    expect((await keyring.active()).id).to.equal(id);
    expect(await keyring.key('mk-other')).to.equal(undefined);
  });
});
