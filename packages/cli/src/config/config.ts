/**
 * The environment is read once, here, and validated with zod. Everything below
 * takes the resulting Config object; library code never reads process.env.
 */
// zod/mini: the same validation as zod with a tree-shakable API; the full build
// is ~800 KB and every cold `digilog-db status` would pay for parsing it.
import * as z from 'zod/mini';
import { DURATION_PATTERN, parseDuration } from '../read/directives.js';
import { DigilogError } from '../errors.js';
import { redact, registerSecret } from '../redact.js';

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off', ''];

const booleanFlag = z.pipe(
  z.string().check(
    z.trim(),
    z.toLowerCase(),
    z.refine((v) => TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), {
      message: `must be one of ${[...TRUE_WORDS, ...FALSE_WORDS.filter(Boolean)].join(', ')}`,
    }),
  ),
  z.transform((v: string) => TRUE_WORDS.includes(v)),
);

const postgresUrl = z.string().check(
  z.trim(),
  z.refine(isPostgresUrl, {
    message: 'is not a valid PostgreSQL connection string (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE)',
  }),
);

export const wholeNumber = (fallback: number) =>
  z.pipe(
    z.optional(z.string().check(z.trim(), z.regex(/^\d+$/, { message: 'must be a whole number' }))),
    z.transform((v: string | undefined) => (v === undefined ? fallback : Number(v))),
  );

/** A time setting in PostgreSQL's syntax (10s, 500ms, 5min, 1h; 0 = no limit), as milliseconds. */
export const duration = (fallback: string) =>
  z.pipe(
    z.optional(z.string().check(z.trim(), z.regex(DURATION_PATTERN, { message: 'must be a duration such as 500ms, 10s, 5min or 1h (0 = no limit)' }))),
    z.transform((v: string | undefined) => parseDuration(v ?? fallback)!),
  );

/** A variable that is set must hold a URL: an empty one is a missing secret (a fork's CI run), not "use the default". */
export const requiredPostgresUrl = z.string().check(
  z.trim(),
  z.minLength(1, { message: 'is set but empty (a missing secret?): set it to postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or unset it' }),
  z.refine(isPostgresUrl, {
    message: 'is not a valid PostgreSQL connection string (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE)',
  }),
);

const EnvSchema = z.object({
  DATABASE_URL: z.optional(requiredPostgresUrl),
  DIRECT_URL: z.optional(requiredPostgresUrl),
  DATABASE_URL_REPLICA: z.optional(postgresUrl),
  SHADOW_DATABASE_URL: z.optional(postgresUrl),
  DIGILOG_SCRATCH_URL: z.optional(postgresUrl),
  AUTO_MIGRATE: z.pipe(z.optional(booleanFlag), z.transform((v: boolean | undefined) => v ?? false)),
  NODE_ENV: z.pipe(
    z.optional(z.string().check(z.trim(), z.regex(/^[a-z][a-z0-9_-]*$/i, { message: 'must be a plain word such as development, test or production' }))),
    z.transform((v: string | undefined) => v ?? 'development'),
  ),
  DIGILOG_LOCK_WAIT_MS: wholeNumber(60_000),
  DIGILOG_CONNECT_RETRIES: wholeNumber(3),
  DIGILOG_CONNECT_TIMEOUT_MS: wholeNumber(5_000),
  DIGILOG_LOCK_TIMEOUT: duration('1s'),
  DIGILOG_LOCK_RETRY_BUDGET: duration('60s'),
  DIGILOG_ONLINE: z.pipe(z.optional(booleanFlag), z.transform((v: boolean | undefined) => v ?? false)),
  DIGILOG_BATCH_SIZE: wholeNumber(1_000),
  DIGILOG_BATCH_PAUSE: duration('20ms'),
  DIGILOG_STATEMENT_TIMEOUT: duration('1h'),
  DIGILOG_MIGRATION_BUDGET: duration('60s'),
  DIGILOG_LARGE_TABLE_ROWS: wholeNumber(100_000),
  DIGILOG_BACKUP: z.optional(booleanFlag),
  DIGILOG_BACKUP_DIR: z.optional(z.string().check(z.trim(), z.minLength(1, { message: 'must be a folder path' }))),
  DIGILOG_DATA_DIR: z.optional(z.string().check(z.trim(), z.minLength(1, { message: 'must be a folder path' }))),
  DIGILOG_EMBEDDED: z.pipe(z.optional(booleanFlag), z.transform((v: boolean | undefined) => v ?? false)),
  LOG_FORMAT: z.pipe(
    z.optional(z.string().check(z.trim(), z.toLowerCase(), z.refine((v) => v === 'pretty' || v === 'json', { message: 'must be pretty or json' }))),
    z.transform((v: string | undefined) => (v === 'json' ? 'json' : 'pretty') as 'pretty' | 'json'),
  ),
});

/** Validated configuration. Secrets inside URLs are registered for redaction as soon as they are parsed. */
export interface Config {
  /** The database digilog-db migrates (the schema's directUrl when it names one). */
  databaseUrl: string | undefined;
  /** The API's runtime connection when it differs from databaseUrl (the schema's pooled `url` beside a `directUrl`). */
  applicationUrl?: string | undefined;
  replicaUrl: string | undefined;
  shadowDatabaseUrl: string | undefined;
  /** `migrate --dry-run --trace` runs the pending migrations on this empty database (DIGILOG_SCRATCH_URL). */
  scratchUrl?: string | undefined;
  autoMigrate: boolean;
  nodeEnv: string;
  isProduction: boolean;
  lockWaitMs: number;
  connectRetries: number;
  connectTimeoutMs: number;
  /** lock_timeout of one attempt (ms, 0 = none): a migration waiting on a busy table steps back fast, so traffic does not queue behind it. */
  lockTimeoutMs: number;
  /** How long attempts that timed out on a lock are retried (ms, 0 = no retry). */
  lockRetryBudgetMs: number;
  /** DIGILOG_ONLINE=true: `migrate` (and ensureMigrated at boot) run the online rewrites. */
  online: boolean;
  /** Rows per batch of an online batched UPDATE, and the pause between batches (ms). */
  batchSize: number;
  batchPauseMs: number;
  /** statement_timeout of the migration session (ms, 0 = none). */
  statementTimeoutMs: number;
  /** A migration slower than this is reported (ms). */
  migrationBudgetMs: number;
  /** From this estimated row count on, a table is "big": lock-holding changes on it escalate to Dangerous. */
  largeTableRows: number;
  /** DIGILOG_BACKUP: undefined = automatic (on in production when pg_dump exists). */
  backup: boolean | undefined;
  backupDir: string | undefined;
  /** Where the embedded database lives when DATABASE_URL is unset (default: `<project>/.digilog`). */
  dataDir: string | undefined;
  /** --embedded / DIGILOG_EMBEDDED=true: the embedded database was asked for, so CI may use it. */
  embedded: boolean;
  /** CI is set to something truthy (every CI service sets it): a missing URL is then an error. */
  ci: boolean;
  /** LOG_FORMAT: `json` writes JSON log lines on stderr (containers, collectors); `pretty` the human terminal output. */
  logFormat: 'pretty' | 'json';
}

export function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    const isPostgres = url.protocol === 'postgresql:' || url.protocol === 'postgres:';
    // A Unix-socket URL has no hostname but a ?host=/path parameter.
    return isPostgres && (url.hostname !== '' || url.searchParams.has('host'));
  } catch {
    return false;
  }
}

export function registerUrlSecrets(value: string | undefined): void {
  if (!value) return;
  try {
    const url = new URL(value);
    if (url.password) registerSecret(decodeURIComponent(url.password));
    if (url.password) registerSecret(url.password);
    const queryPassword = url.searchParams.get('password');
    if (queryPassword) registerSecret(queryPassword);
  } catch {
    // Not a URL: the zod check reports it, without echoing the value.
  }
}

/** Parses and validates the environment. Throws a `config` DigilogError naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  // Register secrets before validation so even an error message can never echo them.
  for (const name of ['DATABASE_URL', 'DIRECT_URL', 'DATABASE_URL_REPLICA', 'SHADOW_DATABASE_URL', 'DIGILOG_SCRATCH_URL'] as const) registerUrlSecrets(env[name]);
  if (env.PGPASSWORD) registerSecret(env.PGPASSWORD);

  const blankToUndefined = Object.fromEntries(
    Object.keys(EnvSchema.shape).map((key) => [key, env[key] === '' && key !== 'AUTO_MIGRATE' && key !== 'DATABASE_URL' && key !== 'DIRECT_URL' ? undefined : env[key]]),
  );
  const parsed = EnvSchema.safeParse(blankToUndefined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new DigilogError('config', `${variable} ${redact(issue.message)}`, {
      hint: `Fix ${variable} in the environment (see README, "Configuration").`,
      details: { variable },
    });
  }
  const e = parsed.data;
  return {
    // DIRECT_URL (Prisma's usual name for directUrl): migrations run as the migration role on it,
    // the API's queries as the application role on DATABASE_URL.
    databaseUrl: e.DIRECT_URL ?? e.DATABASE_URL,
    applicationUrl: e.DIRECT_URL && e.DATABASE_URL && e.DIRECT_URL !== e.DATABASE_URL ? e.DATABASE_URL : undefined,
    replicaUrl: e.DATABASE_URL_REPLICA,
    shadowDatabaseUrl: e.SHADOW_DATABASE_URL,
    scratchUrl: e.DIGILOG_SCRATCH_URL,
    autoMigrate: e.AUTO_MIGRATE,
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    lockWaitMs: e.DIGILOG_LOCK_WAIT_MS,
    connectRetries: e.DIGILOG_CONNECT_RETRIES,
    connectTimeoutMs: e.DIGILOG_CONNECT_TIMEOUT_MS,
    lockTimeoutMs: e.DIGILOG_LOCK_TIMEOUT,
    lockRetryBudgetMs: e.DIGILOG_LOCK_RETRY_BUDGET,
    online: e.DIGILOG_ONLINE,
    batchSize: Math.max(1, e.DIGILOG_BATCH_SIZE),
    batchPauseMs: e.DIGILOG_BATCH_PAUSE,
    statementTimeoutMs: e.DIGILOG_STATEMENT_TIMEOUT,
    migrationBudgetMs: e.DIGILOG_MIGRATION_BUDGET,
    largeTableRows: e.DIGILOG_LARGE_TABLE_ROWS,
    backup: e.DIGILOG_BACKUP,
    backupDir: e.DIGILOG_BACKUP_DIR,
    dataDir: e.DIGILOG_DATA_DIR,
    embedded: e.DIGILOG_EMBEDDED,
    ci: isTruthyCi(env.CI),
    logFormat: e.LOG_FORMAT,
  };
}

/** CI is not ours to validate: any value but an empty or false-like one means "running in CI". */
function isTruthyCi(value: string | undefined): boolean {
  return value !== undefined && !FALSE_WORDS.includes(value.trim().toLowerCase());
}

/** The primary URL, or a config error explaining how to provide one. */
export function requireDatabaseUrl(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  throw new DigilogError('config', config.isProduction ? 'DATABASE_URL is not set (required with NODE_ENV=production)' : 'DATABASE_URL is not set', {
    hint: 'Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DATABASE (see README, "Configuration").',
    details: { variable: 'DATABASE_URL' },
  });
}

/**
 * Without DATABASE_URL, outside production, digilog-db runs on the embedded
 * PGlite database under `.digilog/` (announced on stderr). Returns the config
 * to use and a stop function; in production a missing URL stays a config error.
 * Unattended runs do not fall back silently either: in CI (a fork's pull
 * request without the secret) or with no terminal under a NODE_ENV other than
 * development, `migrate` would report success on a throwaway database, so a
 * missing URL is a config error there unless the embedded database is asked
 * for (`--embedded`, `DIGILOG_EMBEDDED=true`).
 */
export async function withEmbeddedDefault(
  config: Config,
  projectDir: string,
  {
    shadow = false,
    announce = (line: string) => process.stderr.write(`${line}\n`),
    interactive = process.stdin.isTTY === true,
  }: { shadow?: boolean; announce?: (line: string) => void; interactive?: boolean } = {},
): Promise<{ config: Config; stop: () => Promise<void> }> {
  if (config.databaseUrl) return { config, stop: async () => {} };
  if (config.isProduction) requireDatabaseUrl(config); // throws: production never uses the embedded database
  const unattended = config.ci ? 'CI is set' : config.nodeEnv !== 'development' && !interactive ? `NODE_ENV=${config.nodeEnv} and no terminal` : undefined;
  if (unattended && !config.embedded) {
    throw new DigilogError('config', `DATABASE_URL is not set (${unattended}): refusing to run on a throwaway embedded database`, {
      hint: 'Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DATABASE (a missing CI secret?), or pass --embedded (or DIGILOG_EMBEDDED=true) to use the embedded database on purpose.',
      details: { variable: 'DATABASE_URL' },
    });
  }
  const { startEmbeddedDatabase } = await import('../embedded/embedded-database.js');
  const { join } = await import('node:path');
  const dir = config.dataDir ?? join(projectDir, '.digilog');
  const embedded = await startEmbeddedDatabase(dir, { shadow });
  announce(`DATABASE_URL is not set: using the embedded PostgreSQL (PGlite) in ${dir}`);
  return {
    config: { ...config, databaseUrl: embedded.url, shadowDatabaseUrl: config.shadowDatabaseUrl ?? embedded.shadowUrl },
    stop: embedded.stop,
  };
}
