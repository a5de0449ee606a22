import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** What `pair` received and every later command needs. The credential is a secret: never log it. */
const pairingSchema = z.object({
  server: z.url(),
  executorId: z.string().min(1),
  orgId: z.string().min(1),
  credential: z.string().min(1),
});

export type Pairing = z.output<typeof pairingSchema>;

const PAIRING_FILE_NAME = 'pairing.json';

/** The pairing file exists but cannot be used; the message says which file and what to do. */
export class PairingFileError extends Error {
  override readonly name = 'PairingFileError';
}

/**
 * The node's pairing as a JSON file in the user's config directory, readable by its owner only (file 0600,
 * directory 0700), because the credential inside lets anyone act as this node.
 */
export class PairingStore {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, PAIRING_FILE_NAME);
  }

  /** The stored pairing, or undefined when the node is not paired. */
  async read(): Promise<Pairing | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PairingFileError(`${this.path} is not valid JSON: run \`foundation-agent pair --force\` to pair again`);
    }
    const parsed = pairingSchema.safeParse(json);
    if (!parsed.success) {
      throw new PairingFileError(`${this.path} is incomplete: run \`foundation-agent pair --force\` to pair again`);
    }
    return parsed.data;
  }

  async write(pairing: Pairing): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    // A fresh file created 0600 then renamed over the old one: the credential is never readable by others,
    // not even for a moment, whatever mode an older file had.
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(pairing, null, 2)}\n`, { mode: 0o600, flag: 'w' });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path);
  }

  /** Deletes the pairing; true when there was one. */
  async remove(): Promise<boolean> {
    const existed = await stat(this.path).then(
      () => true,
      () => false,
    );
    await rm(this.path, { force: true });
    return existed;
  }
}
