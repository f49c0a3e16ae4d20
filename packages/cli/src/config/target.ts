/**
 * Turns a Prisma-style connection string into what node-postgres needs.
 * Prisma puts the schema in `?schema=` and has its own pool parameters; pg
 * would pass unknown parameters to the server as options, so they are removed.
 */
import pg, { type ClientConfig } from 'pg';
import { pgTlsOptions, TLS_PARAMS, tlsSetting, type TlsSetting } from './tls.js';

/** Query parameters that belong to Prisma's own connection handling, not to PostgreSQL. */
const PRISMA_ONLY_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'pgbouncer',
  'socket_timeout',
  'connect_timeout',
  'statement_cache_size',
  'sslaccept',
];

/** A database to connect to: the pg config, the schema Prisma would use, and a password-free label. */
export interface DatabaseTarget {
  /** The URL as configured (Prisma's parameters included): for child processes such as a seed script. Holds the password: never print it. */
  url: string;
  /** The URL node-postgres and libpq tools get (Prisma-only parameters removed). */
  connectionString: string;
  schema: string;
  database: string;
  /** Host (or Unix socket folder) and port as the URL names them, defaults filled in. */
  host: string;
  port: string;
  /** `host:port/database`, safe to print. */
  label: string;
  connectTimeoutMs: number | undefined;
  /** TLS as the URL's sslmode/sslaccept ask (libpq's meaning); undefined when it names neither. */
  tls: TlsSetting | undefined;
}

/** Parses a validated postgres URL. Pure. */
export function parseTarget(url: string): DatabaseTarget {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') || 'public';
  const connectTimeout = parsed.searchParams.get('connect_timeout');
  const tls = tlsSetting(parsed.searchParams);
  for (const param of PRISMA_ONLY_PARAMS) parsed.searchParams.delete(param);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres';
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const port = parsed.port || '5432';
  return {
    url,
    connectionString: parsed.toString(),
    schema,
    database,
    host,
    port,
    label: `${host}:${port}/${database}`,
    connectTimeoutMs: connectTimeout && /^\d+$/.test(connectTimeout) ? Number(connectTimeout) * 1000 : undefined,
    tls,
  };
}

/**
 * What node-postgres gets to reach a target: the URL without its TLS parameters and TLS as
 * explicit options (`connectionString` itself keeps them, for libpq tools such as pg_dump).
 */
export function pgConnection(target: DatabaseTarget): Pick<ClientConfig, 'connectionString' | 'ssl' | 'stream'> {
  if (!target.tls) return { connectionString: target.connectionString };
  const url = new URL(target.connectionString);
  for (const param of TLS_PARAMS) url.searchParams.delete(param);
  return { connectionString: url.toString(), ...pgTlsOptions(target.tls) };
}

/** The same server, another database (for creating the target or a shadow database). */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const parsed = new URL(target.connectionString);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  const url = new URL(target.url);
  url.pathname = parsed.pathname;
  return { ...target, url: url.toString(), connectionString: parsed.toString(), database, label: target.label.replace(/\/[^/]*$/, `/${database}`) };
}

/**
 * Server-side TCP keepalive for the session (the kernel default waits 2 hours): after a real
 * network cut the server drops the dead runner's session, and with it the migration lock,
 * within about 30 + 3 × 10 s instead of holding the lock for hours.
 */
const SERVER_KEEPALIVES = '-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3';

/**
 * node-postgres client options for a target. `search_path` pins unqualified names to the Prisma
 * schema; TCP keepalive both ways keeps idle-killing firewalls from cutting a long migration's
 * session and lets each side notice a peer that vanished.
 */
export function clientConfig(target: DatabaseTarget, options: { applicationName?: string; connectTimeoutMs?: number } = {}): ClientConfig {
  return {
    ...pgConnection(target),
    application_name: options.applicationName ?? 'digilog-db',
    connectionTimeoutMillis: target.connectTimeoutMs ?? options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    options: `-c search_path=${optionValue(quoteIdent(target.schema))} ${SERVER_KEEPALIVES}`,
  };
}

/**
 * SQL quoting is node-postgres's own (libpq's rules): an identifier in double quotes, a literal
 * in single quotes, as E'…' with doubled backslashes when it has any, so it is read the same
 * whatever standard_conforming_strings says.
 */
export const { escapeIdentifier: quoteIdent, escapeLiteral: quoteLiteral } = pg;

/** A value inside the startup `options` parameter, where the server reads backslash and space as escapes. */
export function optionValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/ /g, '\\ ');
}

/** Names by which a host reaches its own loopback interface: one server, whichever is written. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether two targets name the same database of the same server (host, port, database; the schema aside). Pure. */
export function sameDatabase(a: DatabaseTarget, b: DatabaseTarget): boolean {
  const host = (t: DatabaseTarget) => (LOOPBACK.has(t.host.toLowerCase()) ? 'localhost' : t.host.toLowerCase());
  return host(a) === host(b) && a.port === b.port && a.database === b.database;
}
