/**
 * The parse trees of a migration, for the `--online` rewrite. The deploy plan parses every
 * file once and keeps only what the other stages need (text, locks, transaction control);
 * the rewrite alone needs the whole tree, so only `--online` parses again (the parser is
 * already loaded by then).
 */
import { parseStatements, type ParsedStatement } from '../plan/execution-mode.js';

/** The file's statements, or null when PostgreSQL's parser rejects it (the server reports the error when it runs). */
export async function parsedStatementsOf(sql: string): Promise<ParsedStatement[] | null> {
  try {
    return await parseStatements(sql);
  } catch {
    return null;
  }
}
