// Shared helpers for the benchmarks: temp databases, synthetic histories, psql floor, timing.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'packages/cli/bin/digilog-db.js');
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const WORKLOADS_DIR = process.env.DIGILOG_WORKLOADS_DIR ?? resolve(ROOT, '../shared/workloads');

export function urlFor(db) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  return url.toString();
}

export function psqlAdmin(sql) {
  execFileSync('psql', ['-X', '-q', '-d', ADMIN_URL, '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs fn with a fresh empty database, dropped afterwards. */
export async function withDatabase(fn) {
  const name = `digilog_bench_${randomBytes(4).toString('hex')}`;
  psqlAdmin(`CREATE DATABASE ${name}`);
  try {
    return await fn(urlFor(name), name);
  } finally {
    psqlAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/** N synthetic migrations, each a CREATE TABLE and a CREATE INDEX. */
export function syntheticHistory(count) {
  const root = mkdtempSync(join(tmpdir(), `digilog-bench-${count}-`));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  for (let i = 0; i < count; i++) {
    const name = `${String(20240101000000 + i)}_table_${i}`;
    mkdirSync(join(dir, name));
    writeFileSync(
      join(dir, name, 'migration.sql'),
      `-- CreateTable\nCREATE TABLE "t_${i}" (\n    "id" SERIAL NOT NULL,\n    "name" TEXT NOT NULL,\n    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    CONSTRAINT "t_${i}_pkey" PRIMARY KEY ("id")\n);\n\n-- CreateIndex\nCREATE INDEX "t_${i}_name_idx" ON "t_${i}"("name");\n`,
    );
  }
  return dir;
}

export function migrationFolders(dir) {
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The floor: psql, one session, one transaction per migration file. */
export function psqlApplyScript(dir) {
  const file = join(mkdtempSync(join(tmpdir(), 'digilog-psql-')), 'apply.sql');
  const lines = ['\\set ON_ERROR_STOP on'];
  for (const name of migrationFolders(dir)) lines.push('BEGIN;', `\\i '${join(dir, name, 'migration.sql')}'`, 'COMMIT;');
  writeFileSync(file, lines.join('\n'));
  return file;
}

export function timeCommand(command, args, env = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return ms;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function machine() {
  const pg = execFileSync('psql', ['-X', '-At', '-d', ADMIN_URL, '-c', 'SHOW server_version'], { encoding: 'utf8' }).trim();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL ${pg}`;
}

export function fmt(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}
