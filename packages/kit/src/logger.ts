import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks in every log line. Handlers never log credentials on purpose; this is the backstop for
 * an object logged whole.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'cookie',
  '*.cookie',
];

export interface LoggerOptions {
  level: string;
  /** The process's target, on every line so split-mode logs can be told apart. */
  target: string;
  destination?: DestinationStream;
}

/** The JSON logger every Foundation process writes with. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { target: options.target },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
