/** JSON log streams of the API and the CLI (LOG_FORMAT=json), parsed line by line. */

/** One parsed log line; `any` so tests can reach into nested fields they assert on. */
export type LogLine = Record<string, any>;

/** Every non-empty line as JSON; throws on the first line that is not, since a plain-text line in a JSON log stream is a bug. */
export function jsonLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}
