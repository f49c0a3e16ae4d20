/**
 * deploy/grafana/digilog-dashboard.json: every PromQL expression in it (panel targets and
 * template variables) names series that a live /metrics scrape of the real API has, or that
 * Prometheus itself makes (`up`, as deploy/alerts.yml reads it); a renamed metric breaks this test,
 * not the dashboard in production. The metric names come from a small PromQL tokenizer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { REPO_ROOT } from '../../../cli/test/support/migrations.js';
import { createKey } from '../support/api-keys.js';
import { startServer } from '../support/server.js';

const createDatabase = testDatabases();

/** PromQL functions and aggregations (an identifier followed by `(`); an unknown one fails the test. */
const FUNCTIONS = new Set(['abs', 'absent', 'absent_over_time', 'avg', 'avg_over_time', 'bottomk', 'ceil', 'changes', 'clamp_max', 'clamp_min', 'count', 'count_over_time', 'delta', 'deriv', 'floor', 'histogram_quantile', 'idelta', 'increase', 'irate', 'label_replace', 'last_over_time', 'max', 'max_over_time', 'min', 'min_over_time', 'quantile', 'rate', 'resets', 'round', 'scalar', 'sort', 'sort_desc', 'stddev', 'sum', 'sum_over_time', 'time', 'timestamp', 'topk', 'vector']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names an expression reads: identifiers standalone or before `{`/`[`, minus functions, keywords, labels, strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals (label values, $variables)
    .replace(/\{[^}]*\}/g, '{}') // label matchers: label names are not metrics
    .replace(/\[[^\]]*\]/g, '[]') // range and subquery durations ([5m], [$__rate_interval])
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ') // label lists (le, route, ...)
    .replace(/(?<![A-Za-z0-9_:.])\d+(?:\.\d+)?(?:e[+-]?\d+)?|\$\w+/gi, ' '); // numbers, bare $variables
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const id = m[0].replace(/\s*\($/, '');
    // `a and (b)`: a keyword before a parenthesis is still a keyword.
    if (KEYWORDS.has(id.toLowerCase())) continue;
    if (m[1]) {
      expect(FUNCTIONS.has(id), `unknown PromQL function ${id} in ${expr}`).toBe(true);
      continue;
    }
    names.push(id);
  }
  return names;
}

interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}

describe('Grafana dashboard', () => {
  it('the tokenizer finds metrics and nothing else', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, route) (rate(digilog_http_request_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))')).toEqual(['digilog_http_request_duration_seconds_bucket']);
    expect(metricNames('max by (job, instance) (digilog_migration_lock_wait_seconds) > 30\n and on (job, instance) (time() - process_start_time_seconds) < 900')).toEqual(['digilog_migration_lock_wait_seconds', 'process_start_time_seconds']);
    expect(metricNames('max(digilog_migration_last_run_timestamp) * 1e3 + up')).toEqual(['digilog_migration_last_run_timestamp', 'up']);
    expect(() => metricNames('no_such_function(up)')).toThrow(/unknown PromQL function/);
  });

  it('every expression reads series the real API exposes (or Prometheus makes, as alerts.yml uses); the wanted panels exist', { timeout: 120_000 }, async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/digilog-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
    };
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const titles = panels.map((p) => p.title);
    for (const wanted of ['API up', 'Migrations by state', 'Migration durations', 'Last migration finished', 'Migration lock', 'DB pool connections', 'HTTP requests by route and status', 'HTTP p95 latency by route']) {
      expect(titles.some((t) => t.startsWith(wanted)), wanted).toBe(true);
    }
    // The Prometheus data source is chosen on import (a variable), not a uid of someone's Grafana.
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const expressions: string[] = [];
    for (const panel of panels) {
      if (panel.title === undefined || !panel.targets) continue;
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const target of panel.targets) expressions.push(target.expr);
    }
    // label_values(<selector>, <label>): the selector is PromQL, the label is not.
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query!.query;
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
      expect(selector, variable.name).toBeTruthy();
      expressions.push(selector!);
    }
    expect(expressions.join('\n')).toMatch(/histogram_quantile\(0\.95,/);

    // Series Prometheus makes itself and alerts.yml relies on (e.g. `up`), from the rule file.
    const rules = (parse(readFileSync(join(REPO_ROOT, 'deploy/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> }).groups.flatMap((g) => g.rules);
    const alertSeries = new Set(rules.flatMap((r) => metricNames(String(r.expr))));
    expect(alertSeries.has('up')).toBe(true);

    const db = await createDatabase('digilog_grafana');
    const server = await startServer({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
    let exposed: Set<string>;
    try {
      const key = await createKey(db.url, ['metrics:read'], 'prometheus');
      // One request first: a labelled histogram has no series before its first observation.
      expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
      const response = await fetch(`${server.url}/metrics`, { headers: key.headers });
      expect(response.status).toBe(200);
      exposed = new Set((await response.text()).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(l)![0]));
    } finally {
      await server.stop();
    }
    const used = new Set(expressions.flatMap((e) => metricNames(e)));
    expect(used.size).toBeGreaterThanOrEqual(10);
    for (const name of used) expect(exposed.has(name) || alertSeries.has(name), `${name}: not in /metrics nor in alerts.yml`).toBe(true);
    // Every panel family the issue asks for reads its series.
    for (const name of ['digilog_migrations', 'digilog_migration_duration_seconds', 'digilog_migration_last_run_timestamp', 'digilog_migration_lock_wait_seconds', 'digilog_db_pool_connections', 'digilog_http_request_duration_seconds_count', 'digilog_http_request_duration_seconds_bucket', 'up']) {
      expect(used.has(name), name).toBe(true);
    }
  });
});
