// The static classifier against what PostgreSQL actually did: every history (the repository's
// fixtures and the real ones in ../shared/workloads) is applied with `--trace` to a fresh database,
// and for each finding that names a table and a lock (rules.ts's `lock` column), the strongest lock
// the statement's session really took on that table is compared with it. Prints agreements and
// every disagreement; asserts nothing.
//
//   node bench/trace-classifier.mjs
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, WORKLOADS_DIR, withDatabase } from './lib.mjs';

const { migrate, parseTarget } = await import(join(ROOT, 'packages/cli/dist/index.js'));
const { lockNeedsOf } = await import(join(ROOT, 'packages/cli/dist/online/locks.js'));
const { parseStatements } = await import(join(ROOT, 'packages/cli/dist/plan/execution-mode.js'));

const MODES = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
/** The rules table's lock text as a mode (`SHARE ROW EXCLUSIVE (both tables)` → ShareRowExclusiveLock); undefined when it names none. */
function modeOf(text) {
  const name = /^(ACCESS EXCLUSIVE|ACCESS SHARE|ROW SHARE|ROW EXCLUSIVE|SHARE UPDATE EXCLUSIVE|SHARE ROW EXCLUSIVE|SHARE|EXCLUSIVE)\b/.exec(text)?.[1];
  return name ? `${name.toLowerCase().replace(/(^| )(\w)/g, (_, __, c) => c.toUpperCase())}Lock` : undefined;
}
const strongest = (modes) => modes.reduce((a, m) => (MODES.indexOf(m) > MODES.indexOf(a) ? m : a), undefined);
const unquote = (relation) => relation.replace(/^.*\./, '').replace(/^"|"$/g, '').replace(/""/g, '"');

function options(url, dir) {
  return {
    target: parseTarget(url), migrationsDir: dir, schemaPath: undefined, production: false, lockWaitMs: 10_000, connectRetries: 0, connectTimeoutMs: 5_000,
    lockTimeoutMs: 0, statementTimeoutMs: 0, lockRetryBudgetMs: 0, online: false, batchSize: 1000, batchPauseMs: 0,
    migrationBudgetMs: 0, largeTableRows: 100_000, applicationName: 'digilog-db bench', trace: true,
  };
}

/** Compares one history; returns { agree, disagreements: [{ migration, statement, rule, table, classifier, postgres }] }. */
async function compare(dir) {
  return withDatabase(async (url) => {
    const result = await migrate(options(url, dir));
    const traces = new Map(result.applied.map((a) => [a.name, a.trace ?? []]));
    let agree = 0;
    const disagreements = [];
    let alreadyHeld = 0;
    for (const step of result.plan.steps) {
      const steps = traces.get(step.migration.name);
      for (const f of step.findings) {
        const claimed = modeOf(f.lock);
        if (!claimed || !f.table || f.rule === 'create-table') continue;
        const trace = steps.find((t) => t.statement === f.statement);
        if (!trace || trace.observedBy !== 'backend') continue;
        const on = (t) => t.locks.filter((l) => unquote(l.relation) === f.table).map((l) => l.mode);
        // Held since an earlier statement of the same transaction: PostgreSQL took nothing new to compare.
        const before = strongest(steps.filter((t) => t.statement < f.statement).flatMap(on));
        if (before !== undefined && MODES.indexOf(before) >= MODES.indexOf(claimed)) {
          alreadyHeld += 1;
          continue;
        }
        const taken = strongest(on(trace));
        if (taken === undefined) continue;
        if (taken === claimed) agree += 1;
        else disagreements.push({ migration: step.migration.name, statement: f.statement, rule: f.rule, table: f.table, classifier: claimed, postgres: taken });
      }
    }
    // The same check for the locks the blocker search predicts from the parse tree (online/locks.ts).
    const needs = { agree: 0, disagree: [], unseen: 0 };
    for (const step of result.plan.steps) {
      const steps = traces.get(step.migration.name);
      const statements = await parseStatements(step.migration.sql).catch(() => []);
      for (const [i, statement] of statements.entries()) {
        const trace = steps.find((t) => t.statement === i + 1);
        if (!trace || trace.observedBy !== 'backend') continue;
        for (const need of lockNeedsOf(statement)) {
          const on = (t) => t.locks.filter((l) => unquote(l.relation) === need.name).map((l) => l.mode);
          const before = strongest(steps.filter((t) => t.statement < i + 1).flatMap(on));
          if (before !== undefined && MODES.indexOf(before) >= MODES.indexOf(need.mode)) continue;
          const taken = strongest(on(trace));
          // No lock on it at all: a relation the statement creates or that does not exist (IF EXISTS).
          if (taken === undefined) {
            needs.unseen += 1;
            continue;
          }
          if (taken === need.mode) needs.agree += 1;
          else needs.disagree.push(`${step.migration.name} #${i + 1} "${need.name}": predicted ${need.mode}, PostgreSQL ${taken} (${statement.nodeType})`);
        }
      }
    }
    return { agree, disagreements, alreadyHeld, needs };
  });
}

const histories = [
  ...readdirSync(join(ROOT, 'packages/cli/test/fixtures/histories')).map((h) => [h, join(ROOT, 'packages/cli/test/fixtures/histories', h)]),
  ...(existsSync(WORKLOADS_DIR) ? readdirSync(WORKLOADS_DIR).filter((w) => existsSync(join(WORKLOADS_DIR, w, 'migrations'))).map((w) => [w, join(WORKLOADS_DIR, w, 'migrations')]) : []),
];
let needsAgree = 0;
let needsUnseen = 0;
const needsDisagree = [];
let agreeing = 0;
let disagreeing = 0;
const byRule = new Map();
for (const [name, dir] of histories) {
  const { agree, disagreements, alreadyHeld, needs } = await compare(dir);
  needsAgree += needs.agree;
  needsUnseen += needs.unseen;
  needsDisagree.push(...needs.disagree.map((d) => `${name}/${d}`));
  agreeing += agree;
  disagreeing += disagreements.length;
  console.log(`${name}: ${agree} agree, ${disagreements.length} disagree (${alreadyHeld} already held as strongly by an earlier statement of the file)`);
  for (const d of disagreements) {
    const key = `${d.rule}: classifier ${d.classifier}, PostgreSQL ${d.postgres}`;
    byRule.set(key, [...(byRule.get(key) ?? []), `${name}/${d.migration} #${d.statement} "${d.table}"`]);
  }
}
console.log(`\nall histories: ${agreeing} findings agree with the locks PostgreSQL took, ${disagreeing} do not`);
for (const [key, where] of byRule) console.log(`  ${key} (${where.length}×), e.g. ${where.slice(0, 2).join('; ')}`);
console.log(`\nlock needs of the blocker search (online/locks.ts): ${needsAgree} agree, ${needsDisagree.length} do not, ${needsUnseen} named a relation PostgreSQL locked nothing new on`);
for (const d of needsDisagree.slice(0, 20)) console.log(`  ${d}`);
