/**
 * Where a statement sits in its file, as editors and CI count it: 1-based lines and columns.
 * libpg-query reports byte offsets into the UTF-8 text and range starts that include the
 * comments before a statement; annotations want the line and column of its first keyword.
 * Columns count UTF-16 code units (SARIF's default `columnKind`, and what a JavaScript
 * string index is); CR LF, LF and a lone CR each end a line (PostgreSQL ends a `--` comment
 * at either); a byte-order mark is not a column.
 */

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A stretch of text: SARIF's region, `endColumn` being the column just after its last character. */
export interface Region {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}

const BOM = '\uFEFF';

/** One file's text with its line starts, to turn byte or character offsets into positions. */
export class SourceText {
  readonly text: string;
  private readonly bytes: Buffer;
  /** Character index where each line starts. */
  private readonly lineStarts: number[] = [0];

  constructor(text: string) {
    this.text = text;
    this.bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) this.lineStarts.push(i + 1);
    }
  }

  /** The character index of a byte offset into the UTF-8 text (offsets from the parser fall on character boundaries). */
  charIndexOfByte(byte: number): number {
    return this.bytes.subarray(0, Math.max(0, Math.min(byte, this.bytes.length))).toString('utf8').length;
  }

  /** The position of a character index (clamped to the text). */
  positionOf(index: number): Position {
    const at = Math.max(0, Math.min(index, this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    const bomShift = low === 0 && this.text.startsWith(BOM) && at > 0 ? 1 : 0;
    return { line: low + 1, column: at - this.lineStarts[low]! + 1 - bomShift };
  }

  /** The region of the characters [start, end). */
  regionOf(start: number, end: number): Region {
    const from = this.positionOf(start);
    const to = this.positionOf(Math.max(start, end));
    return { startLine: from.line, startColumn: from.column, endLine: to.line, endColumn: to.column };
  }

  /**
   * A statement's region, from its first keyword to its last character (the semicolon excluded,
   * as the parser excludes it), given the byte offset where the parser's range for it starts
   * and its text as the parser's range holds it (trimmed).
   */
  statementRegion(offset: number, text: string): Region {
    const rangeStart = this.charIndexOfByte(offset);
    const within = this.text.indexOf(text, rangeStart);
    const textStart = within < 0 ? rangeStart : within;
    const keyword = skipComments(this.text, textStart);
    return this.regionOf(Math.min(keyword, textStart + text.length), textStart + text.length);
  }
}

/** The index of the first character at or after `from` that is neither whitespace nor in a comment (block comments nest, as in PostgreSQL). */
export function skipComments(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s|\uFEFF/.test(text[i]!)) i += 1;
    if (text.startsWith('--', i)) {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i += 1;
    } else if (text.startsWith('/*', i)) {
      let depth = 0;
      while (i < text.length) {
        if (text.startsWith('/*', i)) {
          depth += 1;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth -= 1;
          i += 2;
          if (depth === 0) break;
        } else i += 1;
      }
    } else return i;
  }
}

/**
 * The text the parser is given for a file: a leading byte-order mark becomes three spaces
 * (its three UTF-8 bytes), so PostgreSQL's grammar accepts the file and every byte offset
 * still points into the original text.
 */
export function parsableText(text: string): string {
  return text.startsWith(BOM) ? `   ${text.slice(1)}` : text;
}
