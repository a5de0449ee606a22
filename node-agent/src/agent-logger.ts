import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino';

/** Belt and braces: no code logs the credential, and these paths are blanked if an object carrying it is. */
const REDACTED_PATHS = ['credential', '*.credential', 'authorization', '*.authorization', 'token', '*.token'];

/** The daemon's structured JSON log, one line per event, to stdout by default. */
export function createAgentLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'foundation-agent' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pinoDestination({ dest: 1, sync: true }),
  );
}
