/**
 * The statements of a migration as the online stages need them. The deploy
 * plan parses every file once and keeps only what it classified; until the
 * plan's steps carry their parse trees, the stages parse again here (the
 * parser is already loaded by then).
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
