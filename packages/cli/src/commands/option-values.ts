/**
 * Parsers for numeric and duration flags, for commander's argParser. A flag is checked by the
 * same schema as its environment variable (config.ts), so `--lock-wait 30s` fails like
 * `DIGILOG_LOCK_WAIT_MS=30s`: one line naming the flag, exit 2 (usage), before anything runs.
 */
import { duration, wholeNumber } from '../config/config.js';
import { DigilogError } from '../errors.js';

type Schema = ReturnType<typeof wholeNumber> | ReturnType<typeof duration>;

function parserFor(flag: string, schema: Schema): (value: string) => number {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw badValue(flag, value, parsed.error.issues[0]?.message ?? 'is not valid');
  };
}

function badValue(flag: string, value: string, problem: string): DigilogError {
  return new DigilogError('usage', `${flag} ${problem} (got "${value}")`, { hint: `Fix ${flag} (see --help).`, details: { flag } });
}

/** A whole number of milliseconds (or of anything else), like DIGILOG_LOCK_WAIT_MS. */
export const wholeNumberFlag = (flag: string) => parserFor(flag, wholeNumber(0));

/** A duration in PostgreSQL's syntax (500ms, 10s, 5min, 1h; 0 = no limit) as milliseconds, like DIGILOG_LOCK_TIMEOUT. */
export const durationFlag = (flag: string) => parserFor(flag, duration('0'));

/** A TCP port to listen on: a whole number from 1 to 65535. */
export function portFlag(flag: string): (value: string) => number {
  const whole = wholeNumberFlag(flag);
  return (value) => {
    const port = whole(value);
    if (port < 1 || port > 65_535) throw badValue(flag, value, 'must be a port from 1 to 65535');
    return port;
  };
}
