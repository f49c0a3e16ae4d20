/**
 * Opening a connection, with bounded retries for a server that is starting or
 * briefly unreachable, and clear errors (Prisma's P1000/P1001/P1003 codes)
 * that never include the connection string.
 */
import pg from 'pg';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { clientConfig, quoteIdent, withDatabase, type DatabaseTarget } from '../config/target.js';

export interface ConnectOptions {
  /** Extra attempts after the first one for transient failures (refused, timeout, server starting). */
  retries: number;
  connectTimeoutMs: number;
  applicationName?: string;
  /** Create the database when it does not exist (as `prisma migrate deploy` does). */
  createDatabase?: boolean;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', '57P03', '53300']);

function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

function isTransient(error: unknown): boolean {
  const code = errorCode(error);
  if (code && TRANSIENT_CODES.has(code)) return true;
  return /timeout|terminated unexpectedly|Connection terminated/i.test(String((error as Error)?.message ?? ''));
}

/** Maps a connection failure to a typed error that names host and database but no credential. */
export function connectionError(error: unknown, target: DatabaseTarget): DigilogError {
  const code = errorCode(error);
  const raw = redact(String((error as Error)?.message ?? error));
  if (code === '28P01' || code === '28000') {
    return new DigilogError('unreachable', `Authentication failed against the database server at ${target.label}`, {
      prismaCode: 'P1000',
      hint: 'Check the user name and password in DATABASE_URL.',
      details: { sqlState: code, database: target.label },
    });
  }
  if (code === '3D000') {
    return new DigilogError('unreachable', `Database "${target.database}" does not exist on ${target.label.replace(/\/.*$/, '')}`, {
      prismaCode: 'P1003',
      hint: 'Create it, or run `digilog-db migrate`, which creates a missing database.',
      details: { sqlState: code, database: target.label },
    });
  }
  if (/ssl|tls|certificate/i.test(raw)) {
    return new DigilogError('unreachable', `TLS connection to ${target.label} failed: ${raw}`, {
      prismaCode: 'P1011',
      hint: 'Check sslmode and the server certificate settings in DATABASE_URL.',
      details: { database: target.label },
    });
  }
  return new DigilogError('unreachable', `Can't reach database server at ${target.label.replace(/\/.*$/, '')} (${code ?? raw})`, {
    prismaCode: 'P1001',
    hint: 'Make sure the server is running and DATABASE_URL points at it.',
    details: { database: target.label, reason: code ?? raw },
  });
}

/**
 * Delay before retry number `attempt` (0-based): exponential, 250 ms doubling up to 4 s, with
 * "equal jitter" (a random point in the upper half), so replicas that lost the server together
 * do not all reconnect in the same instant. The lower half stays fixed: the retries still span
 * at least half the un-jittered window, which a starting server needs. Pure given `random`.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(250 * 2 ** attempt, 4_000);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects one client, retrying transient failures with exponential backoff; throws `unreachable` after the last try. */
export async function connect(target: DatabaseTarget, options: ConnectOptions): Promise<pg.Client> {
  let attempt = 0;
  let createdDatabase = false;
  for (;;) {
    const client = new pg.Client(clientConfig(target, options));
    // A dropped connection must surface as a query error, not an unhandled 'error' event.
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      if (errorCode(error) === '3D000' && options.createDatabase && !createdDatabase) {
        await createDatabase(target, options);
        createdDatabase = true;
        continue;
      }
      if (attempt < options.retries && isTransient(error)) {
        const delayMs = retryDelayMs(attempt);
        attempt += 1;
        options.onRetry?.(attempt, delayMs, errorCode(error) ?? 'connection failed');
        await sleep(delayMs);
        continue;
      }
      throw connectionError(error, target);
    }
  }
}

const CREATED_BY_OTHERS = new Set(['42P04', '23505']);

async function createDatabase(target: DatabaseTarget, options: ConnectOptions): Promise<void> {
  const maintenance = await connect(withDatabase(target, 'postgres'), { ...options, createDatabase: false });
  try {
    await maintenance.query(`CREATE DATABASE ${quoteIdent(target.database)}`);
  } catch (error) {
    // Another replica created it a moment ago: 42P04 if its CREATE had committed before ours
    // began, 23505 (unique violation on pg_database's name index) if the two ran together.
    if (!CREATED_BY_OTHERS.has(errorCode(error) ?? '')) throw connectionError(error, target);
  } finally {
    await maintenance.end().catch(() => {});
  }
}

/** SQLSTATEs by which the server says it is ending this session (terminate, shutdown, crash, restart). */
const SESSION_ENDED_CODES = new Set(['57P01', '57P02', '57P03']);

/** True when the connection itself failed (reset, closed, ended by the server), as opposed to an SQL error. */
export function isConnectionLoss(error: unknown): boolean {
  const code = errorCode(error);
  if (code && (SESSION_ENDED_CODES.has(code) || code.startsWith('08'))) return true;
  // Any other error the server sent (it has a severity) is about the SQL, not the connection.
  if (typeof (error as { severity?: unknown } | undefined)?.severity === 'string') return false;
  return isTransient(error) || /Connection terminated|not queryable|ECONNRESET|EPIPE/i.test(`${code ?? ''} ${String((error as Error)?.message ?? '')}`);
}

/**
 * The connection was lost while a migration's script was in flight: whether the server
 * committed it is unknown to this runner (the reply may be what was lost), so say so and
 * point at the command that finds out, instead of reporting a failed migration.
 */
export function lostConnectionDuring(migrationName: string, transactional: boolean, error: unknown): DigilogError {
  const message = redact(String((error as Error)?.message ?? error));
  return new DigilogError('unreachable', `Lost the connection to the database while ${migrationName} was running: ${message}`, {
    prismaCode: 'P1017',
    hint:
      (transactional
        ? 'The server either committed the migration with its "finished" record or rolled it back; this runner cannot tell which. '
        : 'It runs outside a single transaction, so some of its statements may have been applied (check the schema, e.g. for an INVALID index). ') +
      'Run `digilog-db status` once the database is reachable: it lists the migration as applied, or as failed with the resolve command to run.',
    details: { migration: migrationName, sqlState: errorCode(error) },
  });
}

/**
 * Any error from the database layer as a typed error: permission problems and
 * dropped connections are expected in production and deserve a clear line.
 */
export function asDigilogError(error: unknown, target?: DatabaseTarget): DigilogError {
  if (error instanceof DigilogError) return error;
  const code = errorCode(error);
  const message = redact(String((error as Error)?.message ?? error));
  if (code === '42501') {
    return new DigilogError('internal', `Permission denied: ${message}`, {
      hint: 'This role may read status but not change the schema. Run migrations with a role that owns the schema.',
      details: { sqlState: code },
    });
  }
  if (code === '57014') {
    return new DigilogError('internal', `Statement cancelled: ${message}`, { details: { sqlState: code } });
  }
  if (target && (isTransient(error) || code === '57P01' || code === '57P02')) return connectionError(error, target);
  if (isTransient(error) || code === '57P01' || code === '57P02' || /Connection terminated|ECONNRESET/i.test(message)) {
    return new DigilogError('unreachable', `Lost the connection to the database: ${message}`, { prismaCode: 'P1017' });
  }
  return new DigilogError('internal', message, { details: code ? { sqlState: code } : {} });
}
