/**
 * GET /metrics of a running API and `digilog-db status --prometheus` on the same database:
 * the same migration metrics, values that follow the database's state (applied, failed,
 * pending, unreachable), health and pool gauges, no password; and every alert rule in
 * deploy/alerts.yml refers to series the API really exposes and to a runbook that exists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { MIGRATION_METRICS, RECENT_MIGRATIONS, readMigrations } from '@digilog/db';
import { testDatabases } from '../../../cli/test/support/database.js';
import { runCli } from '../../../cli/test/support/cli.js';
import { PROJECT_MIGRATIONS, REPO_ROOT, addMigration, writeMigrations } from '../../../cli/test/support/migrations.js';
import { headingAnchors } from '../../../cli/test/support/markdown.js';
import { havePromtool, promtool } from '../../../cli/test/support/promtool.js';
import { createKey } from '../support/api-keys.js';
import { startServer, waitFor } from '../support/server.js';

const createDatabase = testDatabases();
const PASSWORD = 'M3tr!cs-pw-77';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (one sample per line; # HELP/# TYPE skipped). */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** The migration metric lines only, for comparing the API with the CLI. */
const migrationLines = (samples: Sample[]) =>
  samples.filter((s) => (Object.values(MIGRATION_METRICS) as string[]).includes(s.name)).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`).sort();

/** Scrapes as Prometheus does: `authorization: credentials:` sends the metrics:read key as a Bearer token. */
async function scrape(url: string, headers: Record<string, string>): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parseExposition(text), contentType: response.headers.get('content-type') };
}

function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

describe('GET /metrics and digilog-db status --prometheus', () => {
  it('expose the same migration metrics; health, boot and pool gauges; failures show up; alert rules match real series', async () => {
    const db = await createDatabase('digilog_metrics_api');
    const url = withPassword(db.url);
    const server = await startServer({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    try {
      const names = readMigrations(PROJECT_MIGRATIONS).map((m) => m.name);
      const prometheus = (await createKey(url, ['metrics:read'], 'prometheus')).headers;
      const reader = await createKey(url, ['settings:read'], 'reader');
      expect((await fetch(`${server.url}/api/v1/settings`, { headers: reader.headers })).status).toBe(200);
      // Not public: no key, or a key without metrics:read, is refused.
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: reader.headers })).status).toBe(403);
      const healthy = await scrape(server.url, prometheus);
      expect(healthy.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const s = healthy.samples;
      expect(value(s, 'digilog_database_up')).toBe(1);
      expect(value(s, 'digilog_migrations', { state: 'applied' })).toBe(names.length);
      expect(value(s, 'digilog_migrations', { state: 'pending' })).toBe(0);
      expect(value(s, 'digilog_migrations', { state: 'failed' })).toBe(0);
      for (const name of names.slice(-RECENT_MIGRATIONS)) {
        expect(value(s, 'digilog_migration_duration_seconds', { name })).toBeGreaterThanOrEqual(0);
        expect(Math.abs(value(s, 'digilog_migration_finished_timestamp_seconds', { name })! - Date.now() / 1000)).toBeLessThan(120);
      }
      expect(Math.abs(value(s, 'digilog_migration_last_run_timestamp')! - Date.now() / 1000)).toBeLessThan(120);
      expect(value(s, 'digilog_migration_lock_wait_seconds')).toBeGreaterThanOrEqual(0);
      expect(value(s, 'digilog_migration_lock_held')).toBe(0);
      expect(value(s, 'digilog_health_status', { component: 'database' })).toBe(1);
      expect(value(s, 'digilog_health_status', { component: 'overall' })).toBe(1);
      expect(value(s, 'digilog_health_check_failures_total')).toBe(0);
      // The settings request above opened a pooled connection, now idle.
      expect(value(s, 'digilog_db_pool_connections', { pool: 'primary' })).toBeGreaterThanOrEqual(1);
      expect(value(s, 'digilog_db_pool_connections_idle', { pool: 'primary' })).toBeGreaterThanOrEqual(1);
      expect(value(s, 'digilog_db_pool_requests_waiting', { pool: 'primary' })).toBe(0);
      expect(value(s, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

      // The CLI prints the same migration metrics for a node_exporter textfile collector.
      const cli = await runCli(['status', '--prometheus'], { DATABASE_URL: url });
      expect(cli.code).toBe(0);
      expect(migrationLines(parseExposition(cli.stdout))).toEqual(migrationLines(s));

      // A failed migration (a runner died mid-script): both say so, health turns, failures are counted.
      await db.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('00000000-0000-4000-8000-000000000002', 'x', '20991231000000_died', now(), 0)`);
      let failed: Sample[] = [];
      await waitFor(async () => {
        failed = (await scrape(server.url, prometheus)).samples;
        return value(failed, 'digilog_health_check_failures_total')! >= 1;
      }, 10_000);
      expect(value(failed, 'digilog_migrations', { state: 'failed' })).toBe(1);
      expect(value(failed, 'digilog_health_status', { component: 'database' })).toBe(0);
      expect(value(failed, 'digilog_health_status', { component: 'overall' })).toBe(0);
      const cliFailed = await runCli(['status', '--prometheus'], { DATABASE_URL: url });
      expect(cliFailed.code).toBe(6);
      expect(value(parseExposition(cliFailed.stdout), 'digilog_migrations', { state: 'failed' })).toBe(1);

      // Prometheus's own linter finds nothing to say about either exposition (e.g. no gauge named `_total`).
      // Except prom-client's default nodejs_active_*_total gauges: upstream names that the usual Node.js
      // dashboards use, not ours to rename (every other default metric passes).
      const upstream = /^(# (HELP|TYPE) )?nodejs_active_(handles|requests|resources)_total[ {]/;
      if (havePromtool()) {
        for (const text of [healthy.text, cli.stdout, (await scrape(server.url, prometheus)).text]) {
          const lint = promtool(['check', 'metrics'], text.split('\n').filter((line) => !upstream.test(line)).join('\n'));
          expect(lint.stdout + lint.stderr, text).toBe('');
          expect(lint.code).toBe(0);
        }
      }

      for (const text of [healthy.text, cli.stdout, cliFailed.stdout, cliFailed.stderr]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
        expect(text).not.toContain(prometheus.authorization!.split('.')[1]!);
      }

      // Every alert rule reads series that /metrics really has, and points at a runbook section that exists.
      const rules = (parse(readFileSync(join(REPO_ROOT, 'deploy/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<Record<string, any>> }> }).groups.flatMap((g) => g.rules);
      const headings = headingAnchors('docs/operations.md');
      const exposed = new Set(s.map((sample) => sample.name));
      expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['DigilogMigrationFailed', 'DigilogMigrationsPending', 'DigilogHealthFailing', 'DigilogMigrationSlow', 'DigilogDatabaseUnreachable']));
      expect(rules.find((r) => r.alert === 'DigilogMigrationsPending')!.for).toBe('10m');
      for (const rule of rules) {
        const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations.runbook_url)?.[1];
        expect(anchor && headings.has(anchor), `${rule.alert}: runbook_url ${rule.annotations.runbook_url}`).toBe(true);
        expect(rule.labels.severity).toMatch(/^(critical|warning)$/);
        expect(rule.annotations.summary).toBeTruthy();
        // Target-down rules read Prometheus's own `up`, not the app's series.
        if (/\bup\{job=/.test(String(rule.expr))) continue;
        const selectors = [...String(rule.expr).matchAll(/\b(digilog_[a-z0-9_]+|process_start_time_seconds)(?:\{([^}]*)\})?/g)];
        expect(selectors.length, rule.alert).toBeGreaterThan(0);
        for (const [, metric, matchers] of selectors) {
          expect(exposed.has(metric!), `${rule.alert}: ${metric}`).toBe(true);
          for (const [, label, wanted] of (matchers ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
            // The replica component exists only when DATABASE_URL_REPLICA is set (not in this run).
            if (label === 'component' && wanted === 'replica') continue;
            expect(s.some((sample) => sample.name === metric && sample.labels[label!] === wanted), `${rule.alert}: ${metric}{${label}="${wanted}"}`).toBe(true);
          }
        }
      }
    } finally {
      await server.stop();
    }
  });

  it('status --prometheus: pending migrations exit 3; an unreachable database still prints digilog_database_up 0 (exit 8)', async () => {
    const db = await createDatabase('digilog_metrics_cli');
    const dir = writeMigrations({ '20240101000000_one': 'CREATE TABLE one (id int);' });
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    addMigration(dir, '20240102000000_two', 'CREATE TABLE two (id int);');
    const pending = await runCli(['status', '--prometheus', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(pending.code).toBe(3);
    const samples = parseExposition(pending.stdout);
    expect(value(samples, 'digilog_migrations', { state: 'applied' })).toBe(1);
    expect(value(samples, 'digilog_migrations', { state: 'pending' })).toBe(1);
    expect(samples.filter((x) => x.name === 'digilog_migration_duration_seconds').map((x) => x.labels.name)).toEqual(['20240101000000_one']);

    const down = await runCli(['status', '--prometheus', '--migrations-dir', dir], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere', DIGILOG_CONNECT_RETRIES: '0' });
    expect(down.code).toBe(8);
    expect(parseExposition(down.stdout)).toEqual([{ name: 'digilog_database_up', labels: {}, value: 0 }]);
    expect(down.stderr).toMatch(/Can't reach database server/);

    const both = await runCli(['status', '--prometheus', '--json'], { DATABASE_URL: db.url });
    expect(both.code).toBe(2);
  });

  it('per-migration series stay bounded: only the most recently finished migrations have a duration and a finish time', async () => {
    const db = await createDatabase('digilog_metrics_cap');
    const count = RECENT_MIGRATIONS + 3;
    const names = Array.from({ length: count }, (_, i) => `202401${String(i + 1).padStart(2, '0')}000000_m${i}`);
    const dir = writeMigrations(Object.fromEntries(names.map((name, i) => [name, `CREATE TABLE t${i} (id int);`])));
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    const samples = parseExposition((await runCli(['status', '--prometheus', '--migrations-dir', dir], { DATABASE_URL: db.url })).stdout);
    expect(value(samples, 'digilog_migrations', { state: 'applied' })).toBe(count);
    const recent = names.slice(-RECENT_MIGRATIONS);
    for (const metric of ['digilog_migration_duration_seconds', 'digilog_migration_finished_timestamp_seconds']) {
      expect(samples.filter((x) => x.name === metric).map((x) => x.labels.name), metric).toEqual(recent);
    }
  });
});
