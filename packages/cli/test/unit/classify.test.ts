/** The classifier against its labelled corpus, acknowledgements, and `lint` on the real histories. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, worstLevel } from '../../src/plan/classify.js';
import { parseStatements } from '../../src/plan/execution-mode.js';
import { RULES } from '../../src/plan/rules.js';
import { EXIT_CODES } from '../../src/errors.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { CORPUS } from '../fixtures/classifier-corpus.js';
import { runCli } from '../support/cli.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, REPO_ROOT, WORKLOADS, workloadsDir, writeMigrations } from '../support/migrations.js';
import { readDirectives } from '../../src/read/directives.js';

describe('classifier corpus', () => {
  it('has at least 60 labelled statements covering every level and every rule', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map((c) => c.level))).toEqual(new Set(['safe', 'care', 'dangerous']));
    const labelled = new Set(CORPUS.map((c) => c.rule));
    expect(Object.keys(RULES).filter((rule) => !labelled.has(rule) && rule !== 'create-table')).toEqual([]);
  });

  it('docs/safety.md lists every rule under its level', () => {
    // The rules table moved out of the README with the rest of the safety notes.
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'safety.md'), 'utf8');
    for (const [rule, { level }] of Object.entries(RULES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${{ safe: 'Safe', care: 'Requires care', dangerous: 'Dangerous' }[level]} |`));
      expect(row, `docs/safety.md rules table row for ${level}`).toBeDefined();
      expect(row).toContain(`\`${rule}\``);
    }
  });

  it.each(CORPUS.map((c) => [c.sql, c.level, c.rule, c.setup] as const))('%s → %s (%s)', async (sql, level, rule, setup) => {
    const script = setup ? `${setup};\n${sql};` : `${sql};`;
    const findings = classify(await parseStatements(script), readDirectives(script));
    const own = findings.filter((f) => f.statement === (setup ? 2 : 1));
    expect(worstLevel(own)).toBe(level);
    if (rule === 'none') expect(own).toEqual([]);
    else if (setup && rule === 'create-table') expect(own).toEqual([]);
    else expect(own.map((f) => f.rule)).toContain(rule);
    for (const f of own) expect(f.lock.length).toBeGreaterThan(0);
  });

  it('every Requires-care or Dangerous rule that has a safer way names it', async () => {
    const findings = classify(await parseStatements(CORPUS.filter((c) => c.level !== 'safe' && !c.setup).map((c) => `${c.sql};`).join('\n')));
    for (const rule of ['create-index', 'add-foreign-key', 'set-not-null', 'add-required-column', 'rename-column', 'change-column-type']) {
      expect(findings.find((f) => f.rule === rule)?.alternative).toMatch(/\w/);
    }
  });
});

describe('digilog-db lint', () => {
  it('blocks (exit 4) a Dangerous statement unless the file acknowledges its rule', async () => {
    const dir = writeMigrations({ '20240101000000_drop_legacy': 'DROP TABLE legacy;\n' });
    const blocked = await runCli(['lint', '--json', '--migrations-dir', dir]);
    expect(blocked.code).toBe(EXIT_CODES['dangerous-blocked']);
    const doc = JSON.parse(blocked.stdout);
    expect(doc).toMatchObject({ ok: false, blocking: 1, counts: { dangerous: 1 } });
    expect(doc.files[0].findings[0]).toMatchObject({ rule: 'drop-table', level: 'dangerous', lock: 'ACCESS EXCLUSIVE' });
    const acknowledged = writeMigrations({ '20240101000000_drop_legacy': '-- digilog:allow drop-table\nDROP TABLE legacy;\n' });
    expect((await runCli(['lint', '--migrations-dir', acknowledged])).code).toBe(0);
  });

  // How long it takes is a figure `pnpm bench` prints (the squawk table's classify time), not an assertion.
  it.each(FIXTURE_HISTORIES)('classifies every statement of the fixture history %s', async (history) => {
    const dir = join(HISTORIES_DIR, history);
    const run = await runCli(['lint', '--json', dir]);
    const doc = JSON.parse(run.stdout);
    expect(doc.files.length).toBe(readMigrations(dir).length);
    expect(doc.files.filter((f: { parseError?: string }) => f.parseError)).toEqual([]);
    expect(doc.counts.safe + doc.counts.care + doc.counts.dangerous).toBeGreaterThan(doc.files.length);
    expect(run.code).toBe(doc.blocking > 0 ? EXIT_CODES['dangerous-blocked'] : 0);
  });

  it.for(WORKLOADS)('classifies every statement of the real history %s', async (workload, context) => {
    const run = await runCli(['lint', '--json', join(workloadsDir(context), workload, 'migrations')]);
    const doc = JSON.parse(run.stdout);
    expect(doc.files.length).toBeGreaterThan(10);
    expect(doc.files.filter((f: { parseError?: string }) => f.parseError)).toEqual([]);
    expect(doc.counts.safe + doc.counts.care + doc.counts.dangerous).toBeGreaterThan(doc.files.length);
    expect(run.code).toBe(doc.blocking > 0 ? EXIT_CODES['dangerous-blocked'] : 0);
  });
});
