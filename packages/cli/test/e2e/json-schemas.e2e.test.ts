/**
 * Every --json document carries schemaVersion and matches packages/cli/schemas/<command>.schema.json
 * (draft 2020-12, ajv; additionalProperties false, so a field renamed in the code fails here),
 * on success and on failure, through the built binary against real PostgreSQL.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/plan/rules.js';
import { EXIT_CODES } from '../../src/errors.js';
import { JSON_SCHEMA_VERSION } from '../../src/output/terminal.js';
import { runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { SCHEMAS_DIR, validateJson } from '../support/golden.js';
import { HISTORIES_DIR, PROJECT_MIGRATIONS } from '../support/migrations.js';

const database = testDatabases();
const HISTORY = join(HISTORIES_DIR, 'renames-drops-and-backfills');
// An unreachable server: each command fails the same way (exit 8) without waiting.
const UNREACHABLE = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/digilog_unused', DIGILOG_CONNECT_RETRIES: '0' };

/** Runs a command with --json, checks its exit code, and returns its one document after validating it. */
async function documentOf(command: string, args: string[], env: Record<string, string>, code: number): Promise<Record<string, any>> {
  const run = await runCli(args, env);
  expect(run.code, run.stderr).toBe(code);
  const document = JSON.parse(run.stdout) as Record<string, any>;
  expect(Object.keys(document)[0]).toBe('schemaVersion');
  expect(document.schemaVersion).toBe(JSON_SCHEMA_VERSION);
  expect(validateJson(command, document)).toEqual([]);
  return document;
}

describe('the schemas themselves', () => {
  const common = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'common.schema.json'), 'utf8'));

  it('one schema per command with --json, each success-or-failure; rule ids and error kinds follow the code', () => {
    const files = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual(['api-key', 'common', 'dev', 'diff', 'down-sql', 'generate', 'health', 'lint', 'migrate', 'pull', 'push', 'reset', 'resolve', 'roles', 'rollback', 'seed', 'status'].map((c) => `${c}.schema.json`));
    expect(common.$defs.ruleId.enum).toEqual(Object.keys(RULES));
    expect(common.$defs.failure.properties.error.properties.kind.enum.sort()).toEqual(Object.keys(EXIT_CODES).filter((k) => k !== 'ok').sort());
    expect(common.$defs.schemaVersion.const).toBe(JSON_SCHEMA_VERSION);
  });

  it('is a real check: a renamed field or a missing one fails validation', async () => {
    const run = await runCli(['lint', HISTORY, '--json']);
    const document = JSON.parse(run.stdout);
    expect(validateJson('lint', document)).toEqual([]);
    const renamed = { ...document, blockingCount: document.blocking };
    delete renamed.blocking;
    expect(validateJson('lint', renamed).join('\n')).toMatch(/blocking/);
    const noVersion = { ...document };
    delete noVersion.schemaVersion;
    expect(validateJson('lint', noVersion).join('\n')).toMatch(/schemaVersion/);
  });
});

describe('documents on success and on failure', () => {
  it('lint: findings of a whole history (exit 4), and a missing path (exit 2)', async () => {
    const doc = await documentOf('lint', ['lint', HISTORY, '--json'], {}, EXIT_CODES['dangerous-blocked']);
    expect(doc.ok).toBe(false);
    const failed = await documentOf('lint', ['lint', join(HISTORY, 'nowhere'), '--format', 'json'], {}, EXIT_CODES.usage);
    expect(failed.error.kind).toBe('usage');
  });

  it('migrate --dry-run, migrate, status, resolve and reset on a real database; each unreachable one too', async () => {
    const db = await database();
    const env = { DATABASE_URL: db.url };
    const flags = ['--migrations-dir', HISTORY, '--json'];
    const plan = await documentOf('migrate', ['migrate', '--dry-run', ...flags], env, EXIT_CODES.pending);
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.migrations.length).toBe(7);
    const deployed = await documentOf('migrate', ['migrate', ...flags], env, EXIT_CODES.ok);
    expect(deployed.applied.length).toBe(7);
    await documentOf('migrate', ['migrate', '--dry-run', ...flags], env, EXIT_CODES.ok);
    const status = await documentOf('status', ['status', ...flags], env, EXIT_CODES.ok);
    expect(status.state).toBe('upToDate');
    await db.query(`DELETE FROM _prisma_migrations WHERE migration_name = '20240407070000_recreate_session'`);
    const resolved = await documentOf('resolve', ['resolve', '--applied', '20240407070000_recreate_session', ...flags], env, EXIT_CODES.ok);
    expect(resolved.action).toBe('applied');
    const unknown = await documentOf('resolve', ['resolve', '--applied', 'nope', ...flags], env, EXIT_CODES.usage);
    expect(unknown.error.prismaCode).toBe('P3017');
    const reset = await documentOf('reset', ['reset', '--force', '--yes', '--no-seed', ...flags], env, EXIT_CODES.ok);
    expect(reset.seeded).toBe(false);
    for (const command of [['migrate'], ['migrate', '--dry-run'], ['status'], ['resolve', '--rolled-back', 'x'], ['reset', '--yes', '--no-seed']]) {
      const failed = await documentOf(command[0]!, [...command, ...flags], UNREACHABLE, EXIT_CODES.unreachable);
      expect(failed.error.kind).toBe('unreachable');
    }
  });

  it('health, api-key create/list/revoke and roles --print; their failures', async () => {
    const db = await database();
    const env = { DATABASE_URL: db.url };
    await documentOf('migrate', ['migrate', '--migrations-dir', PROJECT_MIGRATIONS, '--json'], env, EXIT_CODES.ok);
    const health = await documentOf('health', ['health', '--migrations-dir', PROJECT_MIGRATIONS, '--json'], env, EXIT_CODES.ok);
    expect(health.status).toBe('healthy');
    const created = await documentOf('api-key', ['api-key', 'create', '--name', 'ci', '--scope', 'settings:read', '--json'], env, EXIT_CODES.ok);
    expect(created.key).toEqual(expect.any(String));
    const list = await documentOf('api-key', ['api-key', 'list', '--json'], env, EXIT_CODES.ok);
    expect(list.keys.map((k: { id: string }) => k.id)).toEqual([created.id]);
    await documentOf('api-key', ['api-key', 'revoke', created.id, '--json'], env, EXIT_CODES.ok);
    await documentOf('api-key', ['api-key', 'list', '--json'], UNREACHABLE, EXIT_CODES.unreachable);
    const roles = await documentOf('roles', ['roles', '--print', '--json'], {}, EXIT_CODES.ok);
    expect(roles.migrator.created).toBeNull();
    await documentOf('roles', ['roles', '--print', '--apply', '--json'], {}, EXIT_CODES.usage);
    const unhealthy = await runCli(['health', '--migrations-dir', PROJECT_MIGRATIONS, '--json'], UNREACHABLE);
    expect(unhealthy.code).toBe(EXIT_CODES.unreachable);
    const body = JSON.parse(unhealthy.stdout);
    expect(validateJson('health', body)).toEqual([]);
    expect(body.status).toBe('unhealthy');
  });

  it('rollback and down-sql on success and on failure; status --json with its rollback targets', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'digilog-schemas-rollback-')), 'migrations');
    cpSync(HISTORY, dir, { recursive: true });
    const db = await database();
    const env = { DATABASE_URL: db.url };
    const flags = ['--migrations-dir', dir, '--json'];
    await documentOf('migrate', ['migrate', ...flags], env, EXIT_CODES.ok);
    const status = await documentOf('status', ['status', ...flags], env, EXIT_CODES.ok);
    expect(status.rollback.targets[0].to).toBe('20240406070000_drop_legacy');
    const down = await documentOf('down-sql', ['down-sql', '20240407070000_recreate_session', '--print', ...flags], env, EXIT_CODES.ok);
    expect(down.path).toBeNull();
    const rolledBack = await documentOf('rollback', ['rollback', '--last', '1', '--yes', ...flags], env, EXIT_CODES.ok);
    expect(rolledBack.action).toBe('created-and-applied');
    expect(rolledBack.applied.applied).toHaveLength(1);
    const nothing = await documentOf('rollback', ['rollback', '--to', rolledBack.migration, '--yes', ...flags], env, EXIT_CODES.ok);
    expect(nothing.action).toBe('nothing-to-undo');
    await documentOf('rollback', ['rollback', '--to', 'nope', '--yes', ...flags], env, EXIT_CODES.usage);
    await documentOf('down-sql', ['down-sql', 'nope', ...flags], env, EXIT_CODES.usage);
  });

  it('the engine commands: diff, push, pull, seed and generate on success; each of them and dev on failure', async () => {
    const diff = await documentOf('diff', ['diff', '--from-empty', '--json'], {}, EXIT_CODES.ok);
    expect(diff.changed).toBe(true);
    const db = await database();
    const env = { DATABASE_URL: db.url };
    const pushed = await documentOf('push', ['push', '--json'], env, EXIT_CODES.ok);
    expect(pushed.executedSteps).toBeGreaterThan(0);
    const pulled = await documentOf('pull', ['pull', '--print', '--json'], env, EXIT_CODES.ok);
    expect(pulled.written).toBe(false);
    const seeded = await documentOf('seed', ['seed', '--json'], env, EXIT_CODES.ok);
    expect(seeded.seedFile).toMatch(/seed\.ts$/);
    // The build usually generated the client already; either way a second run finds it unchanged and skips.
    await documentOf('generate', ['generate', '--json'], {}, EXIT_CODES.ok);
    expect((await documentOf('generate', ['generate', '--json'], {}, EXIT_CODES.ok)).skipped).toBe(true);
    await documentOf('seed', ['seed', '--json'], UNREACHABLE, EXIT_CODES.unreachable);
    await documentOf('dev', ['dev', '--json'], {}, EXIT_CODES.usage);
    await documentOf('push', ['push', '--json'], { ...UNREACHABLE, NODE_ENV: 'production' }, EXIT_CODES['production-guard']);
    await documentOf('pull', ['pull', '--json', '--schema', join(HISTORY, 'nowhere.prisma')], UNREACHABLE, EXIT_CODES.usage);
    await documentOf('generate', ['generate', '--json', '--schema', join(HISTORY, 'nowhere.prisma')], {}, EXIT_CODES.usage);
  });
});
