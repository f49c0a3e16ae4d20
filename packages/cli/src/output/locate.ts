/**
 * The regions of a file's statements, for annotations: the file is parsed again with
 * PostgreSQL's parser (the same one the classifier used, so statement N is the same
 * statement) and each statement's byte range is mapped onto lines and columns.
 */
import { parseStatements } from '../plan/execution-mode.js';
import { parsableText, SourceText, type Region } from './source-map.js';

export interface LocatedFile {
  /** Region of statement N at index N − 1. */
  statements: Region[];
  /** Where PostgreSQL's parser stopped, when it rejects the file. */
  parseError?: { message: string; region: Region };
}

interface ParserError extends Error {
  sqlDetails?: { cursorPosition?: number };
}

/** The UTF-16 index of the n-th code point (PostgreSQL counts error positions in characters). */
function indexOfCodePoint(text: string, codePoint: number): number {
  let index = 0;
  for (let n = 0; n < codePoint && index < text.length; n += 1) index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  return index;
}

/** The regions of statements another step already parsed (byte offsets into `sql` itself). */
export function placeParsed(sql: string, statements: ReadonlyArray<{ offset: number; text: string }>): LocatedFile {
  const source = new SourceText(sql);
  return { statements: statements.map((s) => source.statementRegion(s.offset, s.text)) };
}

/** Parses `sql` and returns each statement's region, or the parser's error with its position. Never throws for bad SQL. */
export async function locateStatements(sql: string): Promise<LocatedFile> {
  const source = new SourceText(sql);
  // A byte-order mark is three spaces for the parser (same byte offsets): PostgreSQL rejects it.
  const parsable = parsableText(sql);
  try {
    const statements = await parseStatements(parsable);
    return { statements: statements.map((s) => source.statementRegion(s.offset, s.text)) };
  } catch (error) {
    const cursor = (error as ParserError).sqlDetails?.cursorPosition ?? 0;
    const index = indexOfCodePoint(parsable, cursor) - (parsable === sql ? 0 : 2);
    const at = Math.max(0, index);
    return { statements: [], parseError: { message: (error as Error).message, region: source.regionOf(at, at + 1) } };
  }
}
