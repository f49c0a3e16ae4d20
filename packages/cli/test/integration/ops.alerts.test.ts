/**
 * deploy/alerts.yml under Prometheus's own tooling: the rule file parses (`promtool check rules`),
 * and deploy/alerts.test.yml's series that start, stop and recover make each alert fire and
 * resolve (`promtool test rules`). Every runbook_url points at a heading of docs/operations.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/migrations.js';
import { headingAnchors } from '../support/markdown.js';
import { havePromtool, promtool } from '../support/promtool.js';

const DEPLOY = join(REPO_ROOT, 'deploy');

type Rule = { alert: string; expr: string; annotations: Record<string, string> };
const rules = (parse(readFileSync(join(DEPLOY, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe.skipIf(!havePromtool())('deploy/alerts.yml with promtool', () => {
  it('check rules: the file parses and every expression is valid PromQL', () => {
    const run = promtool(['check', 'rules', 'alerts.yml'], undefined, DEPLOY);
    expect(run.stdout + run.stderr).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    expect(run.code, run.stderr).toBe(0);
  });

  it('test rules: alerts fire on the failing series and resolve when they recover', () => {
    const run = promtool(['test', 'rules', 'alerts.test.yml'], undefined, DEPLOY);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS/);
    // The cases cover the rules that used to stick (and the target-down pair).
    const tested = new Set([...readFileSync(join(DEPLOY, 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    for (const name of ['DigilogMigrationSlow', 'DigilogMigrationLockWaitLong', 'DigilogApiDown', 'DigilogApiAbsent', 'DigilogMigrationFailed']) expect(tested.has(name), name).toBe(true);
  });
});

describe('deploy/alerts.yml runbooks', () => {
  it('every rule has a runbook_url to a heading of docs/operations.md, and a target-down rule exists', () => {
    const headings = headingAnchors('docs/operations.md');
    for (const rule of rules) {
      const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations.runbook_url ?? '')?.[1];
      expect(anchor !== undefined && headings.has(anchor), `${rule.alert}: ${rule.annotations.runbook_url}`).toBe(true);
    }
    expect(rules.map((r) => r.expr)).toEqual(expect.arrayContaining(['up{job="digilog-api"} == 0', 'absent(up{job="digilog-api"})']));
  });
});
