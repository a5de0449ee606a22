import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` of @node-rs/argon2, a const enum that isolated modules cannot read. */
const ALGORITHM_ARGON2ID = 2;

/** OWASP's argon2id minimum: 19 MiB of memory, two passes, one lane. */
const ARGON2ID = { algorithm: ALGORITHM_ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password);
}

/**
 * A hash of a password nobody has, verified when the email is unknown so a wrong email costs the same time
 * as a wrong password and the answer's timing does not reveal which accounts exist.
 */
export const decoyPasswordHash: Promise<string> = hashPassword('decoy password that matches no account');
