/**
 * A real PgBouncer (Debian's `pgbouncer` package; `.ci/run` installs it) in front of a
 * PostgreSQL server, for tests that need the pooler users actually deploy. Its own ini, user
 * list and unix socket directory in a temp dir, listening on a free loopback port; it runs as
 * the `postgres` user because PgBouncer refuses to run as root. trust auth, like the test server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './cluster.js';

/** Debian installs it in /usr/sbin, which a non-root PATH may not list. */
export function pgbouncerBinary(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (dir && existsSync(join(dir, 'pgbouncer'))) return join(dir, 'pgbouncer');
  }
  return undefined;
}

/** "1.18.0" from `pgbouncer --version`. */
export function pgbouncerVersion(binary = pgbouncerBinary()!): string {
  return /PgBouncer (\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
}

export interface PgBouncer {
  port: number;
  version: string;
  /** `url` (a URL of the upstream server) with host and port replaced by the pooler's. */
  pooled(url: string): string;
  /** Server process ids of the pooler's server connections to `database` (SHOW SERVERS on the admin console). */
  serverPids(database: string): Promise<number[]>;
  /** The pooler's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  upstreamPort: number;
  poolMode?: 'session' | 'transaction' | 'statement';
  poolSize?: number;
  /** Next transaction on the least recently used server connection instead of the most recent. */
  roundRobin?: boolean;
}

export async function startPgBouncer({ upstreamPort, poolMode = 'transaction', poolSize = 3, roundRobin = false }: PgBouncerOptions): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed (apt-get install pgbouncer; .ci/run does it)');
  const dir = mkdtempSync(join(tmpdir(), 'digilog-pgbouncer-'));
  const port = await freePort();
  const logFile = join(dir, 'pgbouncer.log');
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Any database name the client asks for, on the upstream server, as the same user.
      `* = host=127.0.0.1 port=${upstreamPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      `logfile = ${logFile}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      `pool_mode = ${poolMode}`,
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 200',
      `server_round_robin = ${roundRobin ? 1 : 0}`,
      // PgBouncer 1.18 refuses startup parameters it does not track; node-postgres clients send
      // `options` (search_path, keepalives). Ignoring it is what PgBouncer deployments configure.
      'ignore_startup_parameters = extra_float_digits, options',
      '',
    ].join('\n'),
  );
  chmodSync(dir, 0o755);
  execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const child: ChildProcess = spawn('runuser', ['-u', 'postgres', '--', binary, join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => output + (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  // Ready once it accepts TCP connections (bounded: a broken ini makes it exit at once).
  for (let attempt = 0; ; attempt++) {
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (listening) break;
    if (child.exitCode !== null || attempt > 100) throw new Error(`pgbouncer did not start:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const version = pgbouncerVersion(binary);
  return {
    port,
    version,
    pooled(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async serverPids(database) {
      // The admin console speaks the simple query protocol only.
      const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'pgbouncer' });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ database: string; remote_pid: string }>('SHOW SERVERS');
        return rows.filter((r) => r.database === database).map((r) => Number(r.remote_pid));
      } finally {
        await admin.end();
      }
    },
    log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
