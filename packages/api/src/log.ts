/** Structured JSON log lines on stderr (pino, through the library's redacting logger). */
import { createJsonLogger, silentLogger, type Logger, type LogLevel } from '@digilog/db';

export type { Logger, LogLevel };
export { silentLogger };

/**
 * The API always logs JSON lines, whatever LOG_FORMAT says: it is a service, read by
 * collectors; LOG_FORMAT switches the CLI, whose default output is for people.
 */
export const jsonLogger: Logger = createJsonLogger({ service: 'digilog-api' });
