/**
 * Structured JSON logs (pino): one object per line on stderr, for log
 * collectors. Every line is redacted twice: the fields before serialisation
 * (a password with quotes would be escaped, and so missed, afterwards) and
 * the whole line after it (bindings, messages, anything a field missed).
 * A service's hot path (the API's access log) may write unredacted, buffered
 * lines of fields that cannot hold a secret: see createJsonLogOutput().
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

type Pino = typeof pinoModule;

function pinoOptions(pino: Pino, service: string, level: LogLevel): pinoModule.LoggerOptions {
  return {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names ("error"), not pino's numbers: readable without a pino-aware collector.
    formatters: { level: (label) => ({ level: label }) },
  };
}

function redactingLogger(pino: Pino, options: pinoModule.LoggerOptions, destination: pinoModule.DestinationStream): Logger {
  const logger = pino({ ...options, hooks: { streamWrite: (line) => redact(line) } }, destination);
  return (lvl, message, fields = {}) => {
    logger[lvl](redactDeep(fields), redact(message));
  };
}

/** Creates a logger writing JSON lines synchronously, so that no line is lost when the process exits right after. */
export function createJsonLogger({ service, fd = 2, level = 'info' }: JsonLoggerOptions): Logger {
  const pino = load('pino') as Pino;
  return redactingLogger(pino, pinoOptions(pino, service, level), pino.destination({ fd, sync: true }));
}

export interface JsonLogOutputOptions extends JsonLoggerOptions {
  /** Hot lines wait until this many bytes are buffered (default 4096: about 20 access-log lines per write). */
  bufferBytes?: number;
  /** …or at most this long (default 100 ms). */
  flushMs?: number;
}

/** Two loggers on one stream, in one order: see their fields. */
export interface JsonLogOutput {
  /** Redacted like createJsonLogger's; written, after every buffered hot line, before the call returns. */
  log: Logger;
  /**
   * Not redacted, and buffered: for hot paths whose fields cannot hold a secret (the caller's promise).
   * Its lines are written with the next `log` line, once bufferBytes wait, after flushMs at most, and
   * synchronously when the process exits (process.exit included); only a SIGKILL loses them.
   */
  hot: Logger;
}

/**
 * Creates a service's loggers. A synchronous write per access-log line, redacting fields and the
 * serialised line each time, cost a fifth of the API's CPU under load (profiled, docs/operations.md).
 */
export function createJsonLogOutput({ service, fd = 2, level = 'info', bufferBytes = 4096, flushMs = 100 }: JsonLogOutputOptions): JsonLogOutput {
  const pino = load('pino') as Pino;
  // Still sync: every write is made on this thread, so none is in flight in the thread pool when the
  // process exits; minLength batches the lines into one write(2).
  const destination = pino.destination({ fd, sync: true, minLength: bufferBytes, periodicFlush: flushMs });
  process.on('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Closed or broken stderr: nothing can be written anyway.
    }
  });
  const options = pinoOptions(pino, service, level);
  const redacting = redactingLogger(pino, options, destination);
  const plain = pino(options, destination);
  return {
    log: (lvl, message, fields) => {
      redacting(lvl, message, fields);
      // Below minLength the buffer is one string (lines are merged up to 16 KiB), so one flush writes it all.
      destination.flush();
    },
    hot: (lvl, message, fields = {}) => {
      plain[lvl](fields, message);
    },
  };
}

/** A logger that writes nothing (tests, or callers that do not want logs). */
export const silentLogger: Logger = () => {};

/** LOG_FORMAT: `json` for JSON lines, `pretty` (the default) for the human terminal output. */
export type LogFormat = 'pretty' | 'json';
