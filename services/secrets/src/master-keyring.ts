import { stat } from 'node:fs/promises';
import { readKeyringFile, singleKeyKeyring, type Keyring } from './keyring-file.js';

/** Where a process's master keys come from: a keyring file, or one base64 key from the environment. */
export type MasterKeySource = { file: string } | { key: string };

/**
 * The master keys as a running service sees them. A keyring file is re-read when the service meets a
 * data key wrapped by a key id it does not know, and before it wraps a new data key when the file has
 * changed: that is how a rotation done by another process (`foundation secrets rotate-master-key`)
 * reaches services that keep running. A single key from the environment never changes.
 */
export class MasterKeyring {
  private reading: Promise<void> | undefined;

  private constructor(
    private readonly file: string | undefined,
    private keyring: Keyring,
    private version: string,
  ) {}

  /** Loads the keys; a missing or malformed source is a ConfigError naming the variable. */
  static async load(source: MasterKeySource): Promise<MasterKeyring> {
    if ('key' in source) return new MasterKeyring(undefined, singleKeyKeyring(source.key), '');
    // Taken before reading, so a change between the two shows as a change; a missing file is reported by the read.
    const version = await fileVersion(source.file).catch(() => '');
    return new MasterKeyring(source.file, await readKeyringFile(source.file), version);
  }

  /** The key that wraps new data keys. */
  async active(): Promise<{ id: string; key: Buffer }> {
    if (this.file && (await fileVersion(this.file)) !== this.version) await this.reread();
    const { activeKeyId, keys } = this.keyring;
    return { id: activeKeyId, key: keys.get(activeKeyId)! };
  }

  /** The key with this id, re-reading the file once when it is unknown; undefined when it is not there either. */
  async key(id: string): Promise<Buffer | undefined> {
    if (!this.keyring.keys.has(id) && this.file) await this.reread();
    return this.keyring.keys.get(id);
  }

  private reread(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const version = await fileVersion(this.file!);
        this.keyring = await readKeyringFile(this.file!);
        this.version = version;
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}

/** Changes whenever the file is replaced (a rotation renames a new file over it) or rewritten. */
async function fileVersion(path: string): Promise<string> {
  const { ino, mtimeMs, size } = await stat(path);
  return `${ino}:${mtimeMs}:${size}`;
}
