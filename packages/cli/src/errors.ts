/**
 * Typed errors of digilog-db. Library code throws (or returns) these; only the
 * CLI entry point turns them into an exit code, through EXIT_CODES below.
 */

/** Stable error kinds. Their exit codes are part of the public contract (README). */
export type ErrorKind =
  | 'internal'
  | 'usage'
  | 'config'
  | 'pending'
  | 'dangerous-blocked'
  | 'lock-timeout'
  | 'failed-migration'
  | 'history-mismatch'
  | 'unreachable'
  | 'production-guard'
  | 'not-managed'
  | 'migration-sql'
  | 'interrupted'
  | 'backup-failed'
  | 'sigint'
  | 'sigterm';

/** One table maps every error kind to its exit code; nothing else decides exit codes. */
export const EXIT_CODES: Readonly<Record<ErrorKind | 'ok', number>> = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 2,
  pending: 3,
  'dangerous-blocked': 4,
  'lock-timeout': 5,
  'failed-migration': 6,
  'migration-sql': 6,
  'history-mismatch': 7,
  unreachable: 8,
  'production-guard': 9,
  'not-managed': 10,
  interrupted: 11,
  'backup-failed': 12,
  // A command stopped mid-way by Ctrl-C or SIGTERM (after its clean-up) exits as shells report a signal: 128 + its number.
  sigint: 130,
  sigterm: 143,
};

export interface DigilogErrorOptions {
  /** Prisma's error code where one exists (P3009, P3018, …), for users who search for it. */
  prismaCode?: string;
  /** What the user should do next, printed after the message. */
  hint?: string;
  /** Machine-readable facts for --json output (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class: every expected failure carries a kind, an optional Prisma code and a next step. */
export class DigilogError extends Error {
  readonly kind: ErrorKind;
  readonly prismaCode: string | undefined;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, options: DigilogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DigilogError';
    this.kind = kind;
    this.prismaCode = options.prismaCode;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** Exit code for anything thrown: typed errors map through the table, the rest is internal. */
export function exitCodeOf(error: unknown): number {
  return error instanceof DigilogError ? error.exitCode : EXIT_CODES.internal;
}

export function isDigilogError(error: unknown): error is DigilogError {
  return error instanceof DigilogError;
}

/** Status states map onto the same table: "up to date", "pending", "failed", "edited" and "could not check" differ by exit code. */
export const STATUS_EXIT_KIND = {
  upToDate: 'ok',
  pending: 'pending',
  failed: 'failed-migration',
  edited: 'history-mismatch',
  missingFromDisk: 'history-mismatch',
  notManaged: 'not-managed',
} as const satisfies Record<string, ErrorKind | 'ok'>;
