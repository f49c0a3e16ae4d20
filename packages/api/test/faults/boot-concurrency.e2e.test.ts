/**
 * TEST-MATRIX row 1, API side: 16 API processes boot at once on an empty database with
 * AUTO_MIGRATE=true → each migration applied once, one process applies, the others find the
 * database up to date, all listen, no migration lock left.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseTogether, startSpreadMs, type StartedCli } from '../../../cli/test/support/cli.js';
import { countLostOrDoubled, eventually, migrationLockRows } from '../../../cli/test/support/counting.js';
import { testDatabases } from '../../../cli/test/support/database.js';
import { PROJECT_MIGRATIONS } from '../../../cli/test/support/migrations.js';
import { recordReliability } from '../../../cli/test/support/reliability.js';
import { REPO_ROOT } from '../support/server.js';

const newDatabase = testDatabases();
const SERVER = join(REPO_ROOT, 'packages', 'api', 'dist', 'server.js');
const RUNNERS = 16;

interface BootLine {
  msg: string;
  action?: string;
  applied?: string[];
  port?: number;
}

function logLines(text: string): BootLine[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as BootLine);
}

describe('[row 1] concurrent API boots', () => {
  it(`[row 1] ${RUNNERS} API processes booting together on an empty database apply each migration once`, async () => {
    const db = await newDatabase('digilog_boot_conc');
    const names = readdirSync(PROJECT_MIGRATIONS).filter((n) => statSync(join(PROJECT_MIGRATIONS, n)).isDirectory());
    let servers: StartedCli[] = [];
    try {
      servers = await releaseTogether(RUNNERS, [], { DATABASE_URL: db.url, AUTO_MIGRATE: 'true', PORT: '0', HOST: '127.0.0.1', DIGILOG_LOCK_WAIT_MS: '50000' }, { importModule: SERVER });
      // Every process listens (or exits, which fails below); bounded by the test's timeout.
      await eventually('all API processes listening', async () => servers.every((s) => /"msg":"listening"/.test(s.stderr()) || s.child.exitCode !== null), 90_000, 200);
      const exited = servers.filter((s) => s.child.exitCode !== null);
      expect(exited.map((s) => s.child.exitCode), exited.map((s) => s.stderr().slice(-1500)).join('\n---\n')).toEqual([]);
      const boots = servers.map((s) => logLines(s.stderr()).find((line) => line.msg.startsWith('migrations: '))!);
      expect(boots.filter((b) => b.action === 'applied').map((b) => b.applied)).toEqual([names]);
      expect(boots.filter((b) => b.action === 'up-to-date').length).toBe(RUNNERS - 1);
      const lostOrDoubled = await countLostOrDoubled(db.query, names);
      expect(lostOrDoubled).toBe(0);
      expect(await migrationLockRows(db.query)).toEqual([]);
      // How close together they started is a figure for the reliability table (24 ms on an idle machine), not an assertion.
      const spreadMs = startSpreadMs(servers.map((s) => s.stderr()));
      const codes = await Promise.all(servers.map((s) => (s.child.kill('SIGTERM'), s.done)));
      expect(codes.map((c) => c.code)).toEqual(Array(RUNNERS).fill(0));
      recordReliability({
        row: 1,
        scenario: `${RUNNERS} API processes booting at once on an empty database (AUTO_MIGRATE=true)`,
        fault: `${RUNNERS} boots started within ${spreadMs} ms`,
        result: `1 applied ${names.length}, ${RUNNERS - 1} up to date, all listening, graceful exit 0, no advisory lock left`,
        runners: RUNNERS,
        lostOrDoubled,
      });
    } finally {
      for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    }
  }, 120_000);
});
