import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { PathInputs } from './agent-paths.js';

/** Process exit codes of every command, documented in `foundation-agent --help`. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notPaired: 3,
  /** The platform refused the credential (revoked node): pair again. A service manager should not restart. */
  credentialRejected: 4,
} as const;

/** What a command gets from `main`: nothing below reads `process` directly. */
export interface CliContext {
  paths: PathInputs;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface CliCommand {
  name: string;
  /** One line for the command list of `foundation-agent --help`. */
  summary: string;
  /** The text of `foundation-agent <name> --help`. */
  usage: string;
  run(args: string[], context: CliContext): Promise<number>;
}

/** A command line the command cannot accept; printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's flags strictly (unknown flags and stray arguments are usage errors). */
export function parseFlags<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function printLine(stream: NodeJS.WriteStream, text: string): void {
  stream.write(`${text}\n`);
}
