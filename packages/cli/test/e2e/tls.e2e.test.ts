/**
 * TLS as libpq and Prisma read the connection string, through the built
 * binary, against two clusters of the test's own: one with `ssl = on` and a
 * self-signed certificate (CN and SAN localhost), one without TLS. Whether a
 * session really was encrypted is read from the server's `log_connections`
 * lines ("SSL enabled"); stderr must stay free of pg's SECURITY WARNING.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTarget, pgConnection } from '../../src/config/target.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, type CliRun } from '../support/cli.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { writeMigrations } from '../support/migrations.js';
import { startServer } from '../../../api/test/support/server.js';
import { adminQuery } from '../support/database.js';

const PASSWORD = 'Tl5Secr3tPw';
type OwnCluster = Cluster & { destroyAll(): void };

/** Starts a cluster that logs each connection (with its TLS state); `tls` adds a self-signed certificate. */
async function cluster({ tls }: { tls: boolean }): Promise<{ cluster: OwnCluster; log: string; cert: string }> {
  const c = await startCluster();
  const cert = join(c.dataDir, 'server.crt');
  const key = join(c.dataDir, 'server.key');
  let conf = 'log_connections = on\n';
  if (tls) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    execFileSync('chown', ['postgres:postgres', cert, key]);
    execFileSync('chmod', ['600', key]);
    conf += `ssl = on\nssl_cert_file = '${cert}'\nssl_key_file = '${key}'\n`;
  }
  appendFileSync(join(c.dataDir, 'postgresql.conf'), conf);
  c.stop();
  c.start();
  return { cluster: c, log: join(dirname(c.dataDir), `${c.port}.log`), cert };
}

/** Runs `status` and returns the run plus the connection lines the server logged meanwhile. */
async function status(log: string, url: string, env: Record<string, string> = {}): Promise<CliRun & { sessions: string[] }> {
  const before = readFileSync(log, 'utf8').length;
  const run = await runCli(['status', '--migrations-dir', dir], { DATABASE_URL: url, DIGILOG_CONNECT_RETRIES: '0', DIGILOG_CONNECT_TIMEOUT_MS: '5000', ...env });
  const sessions = readFileSync(log, 'utf8').slice(before).split('\n').filter((line) => line.includes('connection authorized'));
  for (const text of [run.stdout, run.stderr]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('SECURITY WARNING');
  }
  return { ...run, sessions };
}
const encrypted = (sessions: string[]) => sessions.length > 0 && sessions.every((line) => line.includes('SSL enabled'));
const plaintext = (sessions: string[]) => sessions.length > 0 && sessions.every((line) => !line.includes('SSL enabled'));

let dir: string;
let secure: Awaited<ReturnType<typeof cluster>>;
let plain: Awaited<ReturnType<typeof cluster>>;
const urlOf = (c: Cluster, query: string, host = '127.0.0.1') => `postgresql://postgres:${PASSWORD}@${host}:${c.port}/postgres${query ? `?${query}` : ''}`;

beforeAll(async () => {
  dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
  [secure, plain] = await Promise.all([cluster({ tls: true }), cluster({ tls: false })]);
  for (const c of [secure, plain]) {
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: urlOf(c.cluster, 'sslmode=disable') })).code).toBe(0);
  }
}, 120_000);
afterAll(() => {
  secure?.cluster.destroyAll();
  plain?.cluster.destroyAll();
});

describe('sslmode as libpq reads it, on a server with a self-signed certificate', () => {
  it('disable and no sslmode: plaintext', async () => {
    for (const query of ['sslmode=disable', '']) {
      const run = await status(secure.log, urlOf(secure.cluster, query));
      expect(run.code, run.stderr).toBe(0);
      expect(plaintext(run.sessions)).toBe(true);
    }
  });

  it('prefer and require: encrypted, the certificate not verified', async () => {
    for (const query of ['sslmode=prefer', 'sslmode=require']) {
      const run = await status(secure.log, urlOf(secure.cluster, query));
      expect(run.code, `${query}: ${run.stderr}`).toBe(0);
      expect(encrypted(run.sessions)).toBe(true);
    }
  });

  it('verify-ca checks the chain against sslrootcert but not the host name; verify-full checks both', async () => {
    const root = `sslrootcert=${encodeURIComponent(secure.cert)}`;
    const ca = await status(secure.log, urlOf(secure.cluster, `sslmode=verify-ca&${root}`));
    expect(ca.code, ca.stderr).toBe(0);
    expect(encrypted(ca.sessions)).toBe(true);
    const full = await status(secure.log, urlOf(secure.cluster, `sslmode=verify-full&${root}`, 'localhost'));
    expect(full.code, full.stderr).toBe(0);
    expect(encrypted(full.sessions)).toBe(true);
    // Prisma's spelling: sslcert alone is the server's root certificate.
    const prisma = await status(secure.log, urlOf(secure.cluster, `sslmode=require&sslcert=${encodeURIComponent(secure.cert)}`));
    expect(prisma.code, prisma.stderr).toBe(0);
    expect(encrypted(prisma.sessions)).toBe(true);
    // The certificate names localhost, not 127.0.0.1.
    const wrongHost = await status(secure.log, urlOf(secure.cluster, `sslmode=verify-full&${root}`));
    expect(wrongHost.code).toBe(EXIT_CODES.unreachable);
    expect(wrongHost.stderr).toMatch(/TLS connection to 127\.0\.0\.1:\d+\/postgres failed: .*(altnames|Hostname)/);
    // Without the root certificate the self-signed one is not trusted.
    for (const mode of ['verify-ca', 'verify-full']) {
      const untrusted = await status(secure.log, urlOf(secure.cluster, `sslmode=${mode}`, 'localhost'));
      expect(untrusted.code).toBe(EXIT_CODES.unreachable);
      expect(untrusted.stderr).toContain('self-signed certificate');
      expect(untrusted.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });

  it("Prisma's sslaccept: accept_invalid_certs skips verification, strict verifies", async () => {
    const lenient = await status(secure.log, urlOf(secure.cluster, 'sslmode=verify-full&sslaccept=accept_invalid_certs'));
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(encrypted(lenient.sessions)).toBe(true);
    const strict = await status(secure.log, urlOf(secure.cluster, 'sslmode=require&sslaccept=strict', 'localhost'));
    expect(strict.code).toBe(EXIT_CODES.unreachable);
    expect(strict.stderr).toContain('self-signed certificate');
  });

  it('LOG_FORMAT=json: every stderr line is JSON, no SECURITY WARNING', async () => {
    const run = await status(secure.log, urlOf(secure.cluster, 'sslmode=require'), { LOG_FORMAT: 'json' });
    expect(run.code, run.stderr).toBe(0);
    for (const line of run.stderr.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('the pool config the API builds (pgConnection) encrypts for prefer and require', async () => {
    for (const query of ['sslmode=prefer', 'sslmode=require']) {
      const pool = new pg.Pool(pgConnection(parseTarget(urlOf(secure.cluster, query))));
      try {
        const rows = (await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows;
        expect(rows).toEqual([{ ssl: true }]);
      } finally {
        await pool.end();
      }
    }
  });
});

describe('the API server', () => {
  it('boots, migrates and serves over TLS with sslmode=require on a self-signed server; no SECURITY WARNING', async () => {
    await adminQuery('CREATE DATABASE api', secure.cluster.url());
    const url = urlOf(secure.cluster, 'sslmode=require').replace('/postgres?', '/api?');
    const server = await startServer({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    try {
      const res = await fetch(`${server.url}/api/v1/settings`);
      expect(res.status, await res.text()).toBe(200);
      const sessions = await adminQuery<{ ssl: boolean }>(
        `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'api' AND a.pid <> pg_backend_pid()`,
        secure.cluster.url(),
      );
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.every((row) => row.ssl)).toBe(true);
      expect(server.output()).not.toContain('SECURITY WARNING');
      expect(server.output()).not.toContain(PASSWORD);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('sslmode on a server without TLS', () => {
  it('prefer falls back to plaintext; disable is plaintext', async () => {
    for (const query of ['sslmode=prefer', 'sslmode=disable']) {
      const run = await status(plain.log, urlOf(plain.cluster, query));
      expect(run.code, `${query}: ${run.stderr}`).toBe(0);
      expect(plaintext(run.sessions)).toBe(true);
    }
    const pool = new pg.Pool(pgConnection(parseTarget(urlOf(plain.cluster, 'sslmode=prefer'))));
    try {
      expect((await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([{ ssl: false }]);
    } finally {
      await pool.end();
    }
  });

  it('require fails with one clear line (P1011)', async () => {
    const run = await status(plain.log, urlOf(plain.cluster, 'sslmode=require'));
    expect(run.code).toBe(EXIT_CODES.unreachable);
    expect(run.stderr).toContain('The server does not support SSL connections');
    expect(run.sessions).toEqual([]);
  });

  it('an unknown sslmode is a config error', async () => {
    const run = await status(plain.log, urlOf(plain.cluster, 'sslmode=sometimes'));
    expect(run.code).toBe(EXIT_CODES.config);
    expect(run.stderr).toContain('Unknown sslmode "sometimes"');
  });
});
