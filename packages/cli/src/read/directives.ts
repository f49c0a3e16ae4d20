/**
 * Per-migration directives: SQL line comments starting with `digilog:` that
 * change how one migration is run or judged. Comments are not SQL, so reading
 * them line by line is fine; the SQL itself is only ever read by the parser.
 *
 *   -- digilog:no-transaction          run statement by statement, outside a transaction
 *   -- digilog:allow drop-table, ...    acknowledge Dangerous/care rules (production guard)
 *   -- digilog:lock-timeout 30s         lock_timeout for this migration (0 = none)
 *   -- digilog:statement-timeout 2h     statement_timeout for this migration (0 = none)
 *   -- digilog:budget 5min              expected duration; slower is reported
 */

export interface Directives {
  noTransaction: boolean;
  allow: Set<string>;
  lockTimeoutMs: number | undefined;
  statementTimeoutMs: number | undefined;
  budgetMs: number | undefined;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** PostgreSQL's duration syntax for time settings (`500ms`, `10s`, `5min`, `1h`, `1d`; a bare number is ms). */
export const DURATION_PATTERN = /^\s*(\d+)\s*(ms|s|min|h|d)?\s*$/;

/** Milliseconds of a duration, or undefined when it is not one. Pure. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] ?? 'ms']! : undefined;
}

/** Reads a file's directives. Throws an Error naming the directive when a value is not a duration. */
export function readDirectives(sql: string): Directives {
  const directives: Directives = { noTransaction: false, allow: new Set(), lockTimeoutMs: undefined, statementTimeoutMs: undefined, budgetMs: undefined };
  for (const match of sql.matchAll(/^\s*--\s*digilog:([a-z-]+)(.*)$/gim)) {
    const name = match[1]!.toLowerCase();
    const value = match[2]!.trim();
    if (name === 'no-transaction') directives.noTransaction = true;
    else if (name === 'allow') for (const rule of value.split(/[\s,]+/)) rule && directives.allow.add(rule.toLowerCase());
    else if (name === 'lock-timeout') directives.lockTimeoutMs = durationOf(name, value);
    else if (name === 'statement-timeout') directives.statementTimeoutMs = durationOf(name, value);
    else if (name === 'budget') directives.budgetMs = durationOf(name, value);
    else throw new Error(`unknown directive "-- digilog:${name}" (known: no-transaction, allow, lock-timeout, statement-timeout, budget)`);
  }
  return directives;
}

function durationOf(name: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new Error(`"-- digilog:${name} ${value}" is not a duration (e.g. 500ms, 10s, 5min, 1h; 0 means no limit)`);
  return ms;
}

/** A duration for humans and for PostgreSQL settings (`0` stays `0`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
