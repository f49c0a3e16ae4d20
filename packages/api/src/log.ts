/** Structured JSON log lines on stderr (pino, through the library's redacting logger). */
import { createJsonLogOutput, silentLogger, type Logger, type LogLevel } from '@digilog/db';

export type { Logger, LogLevel };
export { silentLogger };

/**
 * The API always logs JSON lines, whatever LOG_FORMAT says: it is a service, read by
 * collectors; LOG_FORMAT switches the CLI, whose default output is for people.
 */
const output = createJsonLogOutput({ service: 'digilog-api' });

/** Every line but the access log: redacted, written before the call returns. */
export const jsonLogger: Logger = output.log;

/**
 * The access log's lines (access-log.ts), one per request: buffered (4 KiB or 100 ms, and flushed
 * at exit) and not redacted, as their fields cannot hold a secret; the same stream, in order.
 */
export const accessLogger: Logger = output.hot;
