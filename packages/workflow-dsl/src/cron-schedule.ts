import { CronExpressionParser } from 'cron-parser';

/** The time zone of a schedule that names none. */
export const DEFAULT_TIMEZONE = 'UTC';

/** Why `timezone` is unusable (not an IANA name the runtime knows), or undefined when it is fine. */
export function timezoneProblem(timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return undefined;
  } catch {
    return 'must be an IANA time zone name (e.g. "Europe/Berlin")';
  }
}

/**
 * Why `cron` is unusable in a valid `timezone`, or undefined when it is fine: five fields (minute hour
 * day-of-month month day-of-week), or six with seconds first, as cron-parser (the parser BullMQ repeats
 * with) reads them. Aliases such as `@daily` are not DSL cron.
 */
export function cronProblem(cron: string, timezone: string): string | undefined {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `must have 5 fields (minute hour day month weekday) or 6 (seconds first); it has ${fields}`;
  }
  try {
    CronExpressionParser.parse(cron, { tz: timezone });
    return undefined;
  } catch (error) {
    return `is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Whether `cron` in `timezone` is a schedule a `trigger.schedule` node may have. */
export function isValidCron(cron: string, timezone: string = DEFAULT_TIMEZONE): boolean {
  return timezoneProblem(timezone) === undefined && cronProblem(cron, timezone) === undefined;
}
