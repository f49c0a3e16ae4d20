/**
 * Structured JSON logs (pino): one object per line on stderr, for log
 * collectors. Every line is redacted twice: the fields before serialisation
 * (a password with quotes would be escaped, and so missed, afterwards) and
 * the whole line after it (bindings, messages, anything a field missed).
 */
import { createRequire } from 'node:module';
import type pinoModule from 'pino';
import { redact, redactDeep } from '../redact.js';

// Loaded on first use, not imported: the CLI bundle would hoist a static import and every
// cold `digilog-db status` would pay ~35 ms for pino even with human output.
const load = createRequire(import.meta.url);

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Writes one log line: a level, a human message, and flat structured fields (an `event` name where there is one). */
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface JsonLoggerOptions {
  /** `digilog-db` (the CLI) or `digilog-api`: tells the two apart in one log stream. */
  service: string;
  /** File descriptor to write to (default 2, stderr: stdout is for data). */
  fd?: number;
  /** Lowest level written (default info). */
  level?: LogLevel;
}

/** Creates a logger writing JSON lines synchronously, so that no line is lost when the process exits right after. */
export function createJsonLogger({ service, fd = 2, level = 'info' }: JsonLoggerOptions): Logger {
  const pino = load('pino') as typeof pinoModule;
  const logger = pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names ("error"), not pino's numbers: readable without a pino-aware collector.
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => redact(line) },
    },
    pino.destination({ fd, sync: true }),
  );
  return (lvl, message, fields = {}) => {
    logger[lvl](redactDeep(fields), redact(message));
  };
}

/** A logger that writes nothing (tests, or callers that do not want logs). */
export const silentLogger: Logger = () => {};

/** LOG_FORMAT: `json` for JSON lines, `pretty` (the default) for the human terminal output. */
export type LogFormat = 'pretty' | 'json';
