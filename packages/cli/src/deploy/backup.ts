/**
 * `migrate --backup`: a pg_dump custom-format dump of the whole database,
 * taken under the migration lock just before the first pending migration
 * runs. If the dump fails, nothing is migrated. The password reaches pg_dump
 * through its environment, never its command line (visible in `ps`).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { DatabaseTarget } from '../config/target.js';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { spawnCaptured } from '../process/spawn-captured.js';

export interface BackupResult {
  path: string;
  bytes: number;
  durationMs: number;
}

/** pg_dump on PATH, else the newest under /usr/lib/postgresql/<version>/bin (Debian); null when absent. */
export function findPgDump(env: Record<string, string | undefined> = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'pg_dump'))) return join(dir, 'pg_dump');
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'pg_dump'))) return join(root, v, 'bin', 'pg_dump');
  return null;
}

/** Writes `<dir>/<database>-<UTC time>-before-<migration>.dump`; throws `backup-failed` when pg_dump fails. */
export async function takeBackup(target: DatabaseTarget, dir: string, firstPending: string): Promise<BackupResult> {
  const started = performance.now();
  const pgDump = findPgDump();
  if (!pgDump) {
    throw new DigilogError('backup-failed', 'Cannot back up before migrating: pg_dump is not installed', {
      hint: 'Install the PostgreSQL client (pg_dump, same major version as the server or newer), or pass --no-backup.',
    });
  }
  const url = new URL(target.connectionString);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const folder = resolve(dir);
  const path = join(folder, `${safeName(target.database)}-${stamp}-before-${safeName(firstPending)}.dump`);
  const partial = `${path}.partial`;
  try {
    makeFolder(folder);
  } catch (error) {
    throw new DigilogError('backup-failed', `Cannot create the backup folder ${folder}: ${(error as Error).message}`, { hint: 'Pass another folder with --backup <dir> (or DIGILOG_BACKUP_DIR), or --no-backup.' });
  }
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}), PGAPPNAME: 'digilog-db backup' };
  const { code, output: stderr } = await spawnCaptured(pgDump, ['--format=custom', '--no-password', `--file=${partial}`, `--dbname=${url.toString()}`], { env, stdout: 'ignore' });
  if (code !== 0) {
    rmSync(partial, { force: true });
    throw new DigilogError('backup-failed', `pg_dump failed (exit ${code}); nothing was migrated:\n${redact(stderr.trim())}`, {
      hint: 'Fix the cause (pg_dump older than the server? permissions?), or pass --no-backup to migrate without a backup.',
    });
  }
  renameSync(partial, path);
  return { path, bytes: statSync(path).size, durationMs: performance.now() - started };
}

/**
 * mkdir -p one level at a time. Node's own recursive mkdirSync never returns for a
 * folder under /proc (ENOENT from a parent that exists, retried forever), so it
 * would spin while this runner holds the migration lock.
 */
function makeFolder(folder: string): void {
  const missing: string[] = [];
  for (let dir = folder; !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) mkdirSync(dir);
  if (!statSync(folder).isDirectory()) throw new Error('it exists and is not a folder');
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/**
 * Where `migrate` backs up: `--no-backup` → nowhere; `--backup <dir>` → there;
 * `--backup` → DIGILOG_BACKUP_DIR or the default; no flag → DIGILOG_BACKUP, and
 * when that is unset too, automatically in production if pg_dump is installed.
 */
export function chooseBackupDir(
  flag: string | boolean | undefined,
  config: { backup: boolean | undefined; backupDir: string | undefined; isProduction: boolean },
  defaultDir: string,
  pgDumpInstalled: () => boolean = () => findPgDump() !== null,
): string | undefined {
  const dir = config.backupDir ?? defaultDir;
  if (flag === false) return undefined;
  if (typeof flag === 'string') return flag;
  if (flag === true) return dir;
  if (config.backup !== undefined) return config.backup ? dir : undefined;
  return config.isProduction && pgDumpInstalled() ? dir : undefined;
}
