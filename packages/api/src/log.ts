/** Structured JSON log lines on stderr, every one redacted. */
import { redact } from '@digilog/db';

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** One JSON object per line: what log collectors expect from a container. */
export const jsonLogger: Logger = (level, message, fields = {}) => {
  process.stderr.write(`${redact(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }))}\n`);
};

export const silentLogger: Logger = () => {};
