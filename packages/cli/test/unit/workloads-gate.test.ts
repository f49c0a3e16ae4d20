/**
 * A bare clone (no ../shared): the tests on the real public histories are skipped with
 * their reason on the summary's second-to-last line, never silently; DIGILOG_WORKLOADS=require
 * (what .ci/run sets) turns their absence into a failure. Runs vitest itself on squawk.test.ts,
 * the one test that needs nothing but the histories.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/migrations.js';

const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** One vitest run of squawk.test.ts; its own config, so the outer run's global setup (reliability evidence) is left alone. */
function runInner(env: Record<string, string>): { status: number | null; report: string; summary: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'digilog-gate-'));
  const config = join(dir, 'vitest.config.mjs');
  writeFileSync(config, `export default { root: ${JSON.stringify(REPO_ROOT)}, test: { include: ['packages/cli/test/integration/squawk.test.ts'] } };\n`);
  const report = join(dir, 'results.json');
  const run = spawnSync(process.execPath, [VITEST, 'run', '--config', config, '--reporter=json', `--outputFile.json=${report}`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    encoding: 'utf8',
  });
  const summary = spawnSync(process.execPath, [join(REPO_ROOT, '.ci', 'summary.mjs'), report], { encoding: 'utf8' });
  return { status: run.status, report: readFileSync(report, 'utf8'), summary: summary.stdout.trimEnd().split('\n') };
}

describe('tests on the real histories without ../shared', () => {
  it('are skipped, and the summary names why on the line before its count', () => {
    const missing = join(tmpdir(), 'digilog-no-workloads');
    const { status, summary } = runInner({ DIGILOG_WORKLOADS_DIR: missing });
    expect(status).toBe(0);
    expect(summary).toEqual([`1 skipped: real migration histories not found at ${missing} (set DIGILOG_WORKLOADS_DIR)`, '0 passed, 0 failed, 1 skipped']);
  });

  it('DIGILOG_WORKLOADS=skip opts out by name, even where they exist', () => {
    const { status, summary } = runInner({ DIGILOG_WORKLOADS: 'skip', DIGILOG_WORKLOADS_DIR: REPO_ROOT });
    expect(status).toBe(0);
    expect(summary).toEqual(['1 skipped: real migration histories skipped (DIGILOG_WORKLOADS=skip)', '0 passed, 0 failed, 1 skipped']);
  });

  it('DIGILOG_WORKLOADS=require (set by .ci/run) fails the run instead', () => {
    const { status, report, summary } = runInner({ DIGILOG_WORKLOADS: 'require', DIGILOG_WORKLOADS_DIR: join(tmpdir(), 'digilog-no-workloads') });
    expect(status).toBe(1);
    expect(report).toContain('DIGILOG_WORKLOADS=require makes that a failure');
    expect(summary).toEqual(['0 passed, 1 failed']);
    expect(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')).toMatch(/^export DIGILOG_WORKLOADS="\$\{DIGILOG_WORKLOADS:-require\}"$/m);
  });
});
