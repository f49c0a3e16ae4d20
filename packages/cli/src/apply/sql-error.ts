/**
 * Describes a PostgreSQL error raised by a migration script the way Prisma's
 * P3018 does: SQLSTATE, message, and the line the server pointed at.
 */

export interface ServerErrorFields {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  /** 1-based character offset into the query text, as PostgreSQL reports it. */
  position?: string;
  where?: string;
}

export interface ScriptErrorDescription {
  sqlState: string | undefined;
  message: string;
  line: number | undefined;
  column: number | undefined;
  /** The `logs` text stored in `_prisma_migrations` and shown to the user. */
  logs: string;
}

/** Pure: maps the server's error onto the script text (offset = where the script starts in the query). */
export function describeScriptError(script: string, error: ServerErrorFields, offset = 0): ScriptErrorDescription {
  const message = error.message ?? 'unknown error';
  let line: number | undefined;
  let column: number | undefined;
  let excerpt = '';
  const position = error.position ? Number(error.position) - 1 - offset : NaN;
  if (Number.isInteger(position) && position >= 0 && position <= script.length) {
    // PostgreSQL counts characters (code points), not UTF-16 units.
    const before = Array.from(script).slice(0, position).join('');
    const lines = before.split('\n');
    line = lines.length;
    column = lines.at(-1)!.length + 1;
    const lineText = script.split('\n')[line - 1] ?? '';
    excerpt = `\n\nPosition:\n${String(line).padStart(4)} | ${lineText}\n${' '.repeat(7 + column - 1)}^`;
  }
  const extra = [error.detail && `DETAIL: ${error.detail}`, error.hint && `HINT: ${error.hint}`, error.where && `CONTEXT: ${error.where}`]
    .filter(Boolean)
    .join('\n');
  const logs = `Database error code: ${error.code ?? 'unknown'}\n\nDatabase error:\nERROR: ${message}${extra ? `\n${extra}` : ''}${excerpt}\n`;
  return { sqlState: error.code, message, line, column, logs };
}
