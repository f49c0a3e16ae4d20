/**
 * One owner per embedded data folder. PGlite has no postmaster: two processes
 * opening the same `.digilog/pgdata` each run their own PostgreSQL on the same
 * files, and the later writer silently destroys the earlier one's work (two
 * `migrate` runs both said "Applied"; a `migrate` beside the API left a
 * migration recorded as failed and its table missing). Connecting a second
 * process to the owner's socket server is no remedy either: pglite-socket
 * multiplexes every client onto one backend session, so both clients get
 * Prisma's session advisory lock at once and share each other's SET
 * lock_timeout (measured). So the folder has an owner, recorded in
 * `<dir>/owner.lock` (pid, host, command, start time); anyone else is refused
 * with one line naming the owner. A lock left by a dead process on this host is
 * taken over.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DigilogError } from '../errors.js';

export const OWNER_LOCK_FILE = 'owner.lock';

interface Owner {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

/** Lock files this process holds: a file naming our pid that is not among them was left by an earlier process with the same pid (containers reuse small pids). */
const held = new Set<string>();

export interface OwnerLock {
  path: string;
  release(): void;
}

/** Takes ownership of `dir` or throws a `config` error naming the process that has it. */
export function acquireOwnerLock(dir: string, command = describeCommand()): OwnerLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, OWNER_LOCK_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  // A few attempts: after a stale lock was moved away, or the owner released it meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, me)) {
      held.add(path);
      return {
        path,
        release: () => {
          held.delete(path);
          releaseIfMine(path, me);
        },
      };
    }
    const owner = readOwner(path);
    if (owner === 'gone') continue; // released between our create and our read
    if (owner !== 'unreadable' && isAlive(owner, path)) throw inUse(dir, path, owner);
    takeOverStale(path, owner);
  }
  const owner = readOwner(path);
  throw inUse(dir, path, typeof owner === 'object' ? owner : undefined);
}

/**
 * The file is written under a private name, then hard-linked into place: link() fails when the
 * name exists, so exactly one of several processes starting at once wins, and nobody ever reads
 * a half-written lock (which would look stale).
 */
function createExclusive(path: string, owner: Owner): boolean {
  const draft = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(draft, `${JSON.stringify(owner)}\n`);
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // A file system without hard links: O_EXCL create, then write.
    return createWithoutLink(path, owner);
  } finally {
    unlinkSync(draft);
  }
}

function createWithoutLink(path: string, owner: Owner): boolean {
  try {
    writeFileSync(path, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readOwner(path: string): Owner | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return 'unreadable';
  }
  try {
    const parsed = JSON.parse(text) as Partial<Owner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { pid: parsed.pid, host: parsed.host, command: String(parsed.command ?? ''), startedAt: String(parsed.startedAt ?? '') };
    }
  } catch {
    // Not written by us (files are linked into place complete): treat as stale.
  }
  return 'unreadable';
}

/** A process on another host cannot be checked: it counts as alive (the user removes the file if it is not). */
function isAlive(owner: Owner, path: string): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return held.has(path);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves the stale file aside under a name of our own, then checks that what we moved is the
 * stale file and not a new owner's (two processes taking over at once): a live owner's file is
 * put back. The loser of the race then finds the winner's lock on its next attempt.
 */
function takeOverStale(path: string, stale: Owner | 'unreadable'): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readOwner(aside);
  const sameAsStale = stale === 'unreadable' ? moved === 'unreadable' : typeof moved === 'object' && moved.pid === stale.pid && moved.startedAt === stale.startedAt;
  if (!sameAsStale && typeof moved === 'object' && isAlive(moved, path) && !existsSync(path)) {
    renameSync(aside, path);
    return;
  }
  try {
    unlinkSync(aside);
  } catch {
    // Already gone.
  }
}

function releaseIfMine(path: string, me: Owner): void {
  const owner = readOwner(path);
  if (typeof owner === 'object' && owner.pid === me.pid && owner.startedAt === me.startedAt) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}

function inUse(dir: string, path: string, owner: Owner | undefined): DigilogError {
  const who = owner ? `pid ${owner.pid} on ${owner.host}${owner.command ? ` (${owner.command})` : ''}${owner.startedAt ? `, since ${owner.startedAt}` : ''}` : 'another process';
  return new DigilogError('config', `The embedded database in ${dir} is in use by ${who}`, {
    hint: `Stop that process first (one process at a time owns the embedded database), or set DATABASE_URL to a PostgreSQL server. If no such process runs, delete ${path}.`,
    details: { dataDir: dir, lockFile: path, ownerPid: owner?.pid ?? null, ownerHost: owner?.host ?? null },
  });
}

/** "digilog-db migrate" or "digilog-api", for the message another process shows. */
function describeCommand(): string {
  const script = (process.argv[1] ?? '').split(/[\\/]/).pop() ?? '';
  if (script === 'server.js') return 'digilog-api';
  const name = /^digilog-db(\.js)?$/.test(script) ? 'digilog-db' : script.replace(/\.[cm]?js$/, '');
  const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
  return command ? `${name} ${command}` : name;
}
