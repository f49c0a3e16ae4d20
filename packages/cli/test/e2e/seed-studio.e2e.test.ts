/**
 * `seed` and `studio` with the real binary: seeding a database that does not
 * exist is one clear P1003 error, exit 8 (before: the seed script's stack
 * trace, exit 1); Ctrl-C (SIGINT) is the normal way to stop Studio, so it
 * exits 0 with its port closed and no child left (before: exit 1).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli } from '../support/cli.js';
import { freePort } from '../support/cluster.js';
import { adminQuery, testDatabases, urlFor } from '../support/database.js';
import { processAlive } from '../support/process.js';
import { waitFor } from '../../../api/test/support/server.js';

const database = testDatabases();

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every live descendant of a process, from /proc (ppid is the 4th field of /proc/<pid>/stat). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  for (let frontier = [root]; frontier.length > 0; ) {
    frontier = [...parents].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    found.push(...frontier);
  }
  return found;
}

describe('seed', () => {
  it('a database that does not exist: one clear P1003 error, exit 8, no stack trace, nothing created', async () => {
    const name = `digilog_seed_missing_${process.pid}`;
    const url = new URL(urlFor(name));
    url.password = 'S33d:pw#x';
    const run = await runCli(['seed'], { DATABASE_URL: url.toString() });
    expect(run.code, run.stderr).toBe(EXIT_CODES.unreachable);
    expect(run.stderr).toMatch(new RegExp(`^Error: Database "${name}" does not exist .*\\[P1003\\]\\n`));
    expect(run.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(run.stderr + run.stdout).not.toMatch(/\bat .*[.:]\d+|PrismaClient|S33d/);
    expect(await adminQuery(`SELECT datname FROM pg_database WHERE datname = '${name}'`)).toEqual([]);
  });
});

describe('studio', () => {
  it('SIGINT (Ctrl-C) stops Prisma Studio: exit 0, port closed, no child process left', async () => {
    const db = await database('digilog_studio');
    const port = await freePort();
    const studio = startCli(['studio', '--port', String(port)], { DATABASE_URL: db.url });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 200, 90_000, 200);
      const children = descendants(studio.child.pid!);
      expect(children.length).toBeGreaterThan(0);
      studio.child.kill('SIGINT');
      const run = await studio.done;
      expect({ code: run.code, signal: run.signal }, run.stderr).toEqual({ code: 0, signal: null });
      expect(await portOpen(port)).toBe(false);
      expect(children.filter(processAlive)).toEqual([]);
    } finally {
      if (studio.child.exitCode === null) studio.child.kill('SIGKILL');
    }
    // Studio takes 10-25 s to start on a busy 2-core machine.
  }, 150_000);
});
