/** Pure core: diagnosis, checksums, execution modes, error positions, redaction and config validation. */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/read/checksum.js';
import { diagnose } from '../../src/status/diagnose.js';
import { compareNames } from '../../src/read/migrations-folder.js';
import { executionModeOf, parseStatements } from '../../src/plan/execution-mode.js';
import { describeScriptError } from '../../src/apply/sql-error.js';
import type { MigrationRow } from '../../src/db/history.js';
import { toMigration, type Migration } from '../../src/read/migrations-folder.js';
import { loadConfig } from '../../src/config/config.js';
import { DigilogError, EXIT_CODES } from '../../src/errors.js';
import { redact, registerSecret } from '../../src/redact.js';

function local(name: string, sql = `-- ${name}\n`): Migration {
  return toMigration(name, `/m/${name}/migration.sql`, sql);
}
function row(name: string, patch: Partial<MigrationRow> = {}): MigrationRow {
  return {
    id: name,
    checksum: sha256Hex(`-- ${name}\n`),
    finishedAt: new Date('2024-01-01T00:00:01Z'),
    migrationName: name,
    logs: null,
    rolledBackAt: null,
    startedAt: new Date('2024-01-01T00:00:00Z'),
    appliedStepsCount: 1,
    ...patch,
  };
}

describe('diagnose', () => {
  const a = local('20240101000000_a');
  const b = local('20240102000000_b');

  it('reports an empty database without history as pending', () => {
    const report = diagnose({ local: [a, b], rows: null, schemaEmpty: true });
    expect(report.state).toBe('pending');
    expect(report.pending).toEqual([a, b]);
    expect(report.tableExists).toBe(false);
  });

  it('reports a non-empty schema without history as not managed (P3005)', () => {
    expect(diagnose({ local: [a], rows: null, schemaEmpty: false }).state).toBe('notManaged');
  });

  it('is up to date when every migration is finished with a matching checksum', () => {
    const report = diagnose({ local: [a, b], rows: [row(a.name), row(b.name)], schemaEmpty: true });
    expect(report.state).toBe('upToDate');
    expect(report.applied.map((m) => m.name)).toEqual([a.name, b.name]);
  });

  it('puts failed before everything else and does not list a failed migration as pending', () => {
    const report = diagnose({ local: [a, b], rows: [row(a.name), row(b.name, { finishedAt: null, logs: 'boom' })], schemaEmpty: true });
    expect(report.state).toBe('failed');
    expect(report.failed).toEqual([{ name: b.name, startedAt: new Date('2024-01-01T00:00:00Z'), logs: 'boom' }]);
    expect(report.pending).toEqual([]);
  });

  it('while another session holds the lock, the newest unfinished row is running, not failed', () => {
    const old = row('20231231000000_old', { finishedAt: null, startedAt: new Date('2023-12-31T00:00:00Z') });
    const report = diagnose({ local: [a, b], rows: [old, row(a.name), row(b.name, { finishedAt: null })], schemaEmpty: true, migrationRunning: true });
    expect(report.running).toEqual([b.name]);
    expect(report.failed.map((f) => f.name)).toEqual([old.migrationName]);
    expect(diagnose({ local: [a, b], rows: [row(a.name), row(b.name, { finishedAt: null })], schemaEmpty: true, migrationRunning: true })).toMatchObject({
      state: 'pending',
      pending: [b],
    });
    // An older replica without the file on disk sees nothing wrong while a newer release migrates.
    expect(diagnose({ local: [a], rows: [row(a.name), row(b.name, { finishedAt: null })], schemaEmpty: true, migrationRunning: true }).state).toBe('upToDate');
  });

  it('ignores rolled-back rows, so a fixed and re-applied migration is not reported as edited (Prisma #9829)', () => {
    const fixed = local(b.name, 'SELECT 2;\n');
    const rows = [row(a.name), row(b.name, { finishedAt: null, rolledBackAt: new Date(), checksum: 'old' }), row(b.name, { checksum: fixed.checksum, id: 'x' })];
    expect(diagnose({ local: [a, fixed], rows, schemaEmpty: true }).state).toBe('upToDate');
  });

  it('reports an edited migration with both checksums, but accepts CRLF/LF swaps', () => {
    const edited = local(a.name, 'SELECT 1;\n');
    const report = diagnose({ local: [edited], rows: [row(a.name)], schemaEmpty: true });
    expect(report.state).toBe('edited');
    expect(report.edited[0]).toMatchObject({ name: a.name, recordedChecksum: row(a.name).checksum, fileChecksum: edited.checksum });
    const crlf = local(a.name, `-- ${a.name}\r\n`);
    expect(diagnose({ local: [crlf], rows: [row(a.name)], schemaEmpty: true }).state).toBe('upToDate');
  });

  it('reports migrations missing from disk and out-of-order pending ones', () => {
    const report = diagnose({ local: [a], rows: [row(a.name), row('20240103000000_gone')], schemaEmpty: true });
    expect(report.state).toBe('missingFromDisk');
    expect(report.missingFromDisk).toEqual(['20240103000000_gone']);
    const late = diagnose({ local: [a, b], rows: [row(b.name)], schemaEmpty: true });
    expect(late.outOfOrder).toEqual([a.name]);
  });

  it('orders names by bytes as Prisma does, not by locale', () => {
    expect(['b', 'B', '_a', '20240101_x'].sort(compareNames)).toEqual(['20240101_x', 'B', '_a', 'b']);
  });
});

describe('execution mode', () => {
  it.each([
    ['CREATE TABLE a (id int);\nCREATE INDEX i ON a (id);', 'transactional'],
    ['DO $$ BEGIN RAISE NOTICE $q$x;y$q$; END $$;', 'transactional'],
    ["CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;", 'transactional'],
    ['CREATE INDEX CONCURRENTLY i ON a (id);', 'as-written'],
    ['DROP INDEX CONCURRENTLY i;', 'as-written'],
    ['REINDEX INDEX CONCURRENTLY i;', 'as-written'],
    ['REINDEX (CONCURRENTLY) TABLE t;', 'as-written'],
    ['REINDEX TABLE t;', 'transactional'],
    ['ALTER TABLE p DETACH PARTITION c CONCURRENTLY;', 'as-written'],
    ['ALTER TABLE p DETACH PARTITION c;', 'transactional'],
    ['ALTER TABLE p ADD CONSTRAINT c CHECK (concurrent);', 'transactional'],
    ['VACUUM a;', 'as-written'],
    ['BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;', 'as-written'],
    ['-- digilog:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);\nCREATE INDEX CONCURRENTLY j ON a (id);', 'statement-by-statement'],
    // Prisma 7.4+ splits a multi-statement file that creates an index CONCURRENTLY (prisma-engines #5767)…
    ['CREATE TABLE a (id int);\nCREATE UNIQUE INDEX CONCURRENTLY i ON a (id);', 'statement-by-statement'],
    // …but not one that drops an index CONCURRENTLY (#5847): sent whole, as Prisma sends it (the plan refuses it first).
    ['CREATE TABLE a (id int);\nDROP INDEX CONCURRENTLY i;', 'as-written'],
    ['CREATE TABLE begin_end (id int);', 'transactional'],
    ['THIS IS NOT SQL BEGIN', 'as-written'],
  ])('%s → %s', async (sql, mode) => {
    expect(await executionModeOf(sql)).toBe(mode);
  });

  it('splits statements with the real parser, keeping dollar quotes and multi-byte text intact', async () => {
    const statements = await parseStatements("INSERT INTO t VALUES ('é;ü');\nDO $$ BEGIN PERFORM 1; END $$;");
    expect(statements.map((s) => s.text)).toEqual(["INSERT INTO t VALUES ('é;ü')", 'DO $$ BEGIN PERFORM 1; END $$']);
  });
});

describe('describeScriptError', () => {
  it('maps the server position to line and column', () => {
    const sql = 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nALTER TABLE nope ADD COLUMN x int;\n';
    const position = String(sql.indexOf('nope') + 1);
    const described = describeScriptError(sql, { code: '42P01', message: 'relation "nope" does not exist', position });
    expect(described).toMatchObject({ sqlState: '42P01', line: 3, column: 13 });
    expect(described.logs).toContain('Database error code: 42P01');
    expect(described.logs).toContain('ALTER TABLE nope');
  });
});

describe('redact', () => {
  it.each([
    ['postgresql://app:s3cret@db:5432/x', 'postgresql://app:****@db:5432/x'],
    ['postgres://app:p%40ss%3Aword@db/x?sslmode=require', 'postgres://app:****@db/x?sslmode=require'],
    ['postgresql://db/x?user=app&password=hunter22', 'postgresql://db/x?user=app&password=****'],
    ["host=db user=app password='it''s' dbname=x", 'host=db user=app password=**** dbname=x'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('masks registered secrets wherever they appear, decoded or encoded', () => {
    registerSecret('p@ss:w/rd!');
    expect(redact('auth failed for p@ss:w/rd! and p%40ss%3Aw%2Frd!')).toBe('auth failed for **** and ****');
  });
});

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u@h/db' });
    expect(config).toMatchObject({ autoMigrate: false, nodeEnv: 'development', isProduction: false, lockWaitMs: 60_000 });
  });

  it.each([
    [{ AUTO_MIGRATE: 'maybe' }, 'AUTO_MIGRATE'],
    [{ DATABASE_URL: 'mysql://u:pw@h/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url with password=hunter2' }, 'DATABASE_URL'],
    [{ DIGILOG_LOCK_WAIT_MS: '-5' }, 'DIGILOG_LOCK_WAIT_MS'],
  ])('rejects %o naming %s, without echoing secrets', (env, variable) => {
    try {
      loadConfig(env);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DigilogError);
      const e = error as DigilogError;
      expect(e.exitCode).toBe(EXIT_CODES.config);
      expect(e.message.startsWith(variable)).toBe(true);
      expect(e.message).not.toContain('hunter2');
      expect(e.message).not.toContain(':pw@');
    }
  });

  it('accepts the usual spellings of booleans', () => {
    expect(loadConfig({ AUTO_MIGRATE: 'TRUE' }).autoMigrate).toBe(true);
    expect(loadConfig({ AUTO_MIGRATE: '0' }).autoMigrate).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production' }).isProduction).toBe(true);
  });
});
