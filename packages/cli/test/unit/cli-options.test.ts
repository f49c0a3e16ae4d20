/**
 * Option parsing on buildProgram(): every numeric or duration flag is checked like its
 * environment variable (a bad value is a usage error before anything runs), then the same
 * through the built binary, usage errors under --json, and the version shown.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { DigilogError, EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/migrations.js';

const CLI_DIR = join(REPO_ROOT, 'packages', 'cli');

/** Parses `args` with every action replaced by a no-op; returns the named command's options. */
async function parse(args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const command of program.commands) command.configureOutput({ writeErr: () => {}, writeOut: () => {} }).action(() => {});
  await program.parseAsync(args, { from: 'user' });
  return program.commands.find((command) => command.name() === args[0])!.opts();
}

const GOOD: Array<[string[], string, number]> = [
  [['migrate', '--lock-wait', '0'], 'lockWait', 0],
  [['migrate', '--lock-wait', '120000'], 'lockWait', 120_000],
  [['migrate', '--lock-wait', ' 250 '], 'lockWait', 250],
  [['migrate', '--lock-timeout', '0'], 'lockTimeout', 0],
  [['migrate', '--lock-timeout', '500ms'], 'lockTimeout', 500],
  [['migrate', '--lock-timeout', '5s'], 'lockTimeout', 5_000],
  [['migrate', '--lock-timeout', '2min'], 'lockTimeout', 120_000],
  [['migrate', '--statement-timeout', '1h'], 'statementTimeout', 3_600_000],
  [['migrate', '--statement-timeout', '1500'], 'statementTimeout', 1_500],
  [['studio', '--port', '5556'], 'port', 5556],
  [['studio', '-p', '65535'], 'port', 65_535],
  [['studio'], 'port', 5555],
];

const BAD: Array<[string[], RegExp]> = [
  [['migrate', '--lock-wait', '30s'], /^--lock-wait must be a whole number \(got "30s"\)$/],
  [['migrate', '--lock-wait', 'abc'], /^--lock-wait must be a whole number/],
  [['migrate', '--lock-wait', '-1'], /^--lock-wait must be a whole number/],
  [['migrate', '--lock-wait', '1.5'], /^--lock-wait must be a whole number/],
  [['migrate', '--lock-wait', ''], /^--lock-wait must be a whole number/],
  [['migrate', '--lock-timeout', '5x'], /^--lock-timeout must be a duration such as 500ms, 10s, 5min or 1h/],
  [['migrate', '--lock-timeout', 'soon'], /^--lock-timeout must be a duration/],
  [['migrate', '--lock-timeout', '-1s'], /^--lock-timeout must be a duration/],
  [['migrate', '--statement-timeout', '1.5h'], /^--statement-timeout must be a duration/],
  [['migrate', '--statement-timeout', 'forever'], /^--statement-timeout must be a duration/],
  [['studio', '--port', 'abc'], /^--port must be a whole number/],
  [['studio', '--port', '0'], /^--port must be a port from 1 to 65535/],
  [['studio', '--port', '65536'], /^--port must be a port from 1 to 65535/],
  [['studio', '-p', '80.5'], /^--port must be a whole number/],
  [['migrate', '--allow', 'nocolon'], /^--allow nocolon is not <migration>:<rule>$/],
  [['migrate', '--allow', '20240103000000_drop_legacy:'], /^--allow .* is not <migration>:<rule>$/],
  [['migrate', '--allow', '20240103000000_drop_legacy:drop-tables'], /unknown rule "drop-tables"/],
];

describe('numeric and duration flags', () => {
  it.each(GOOD)('%j → %s = %d', async (args, key, value) => {
    expect((await parse(args))[key]).toBe(value);
  });

  it.each(BAD)('%j is a usage error', async (args, message) => {
    const error = await parse(args).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(DigilogError);
    expect((error as DigilogError).kind).toBe('usage');
    expect((error as DigilogError).exitCode).toBe(EXIT_CODES.usage);
    expect((error as DigilogError).message).toMatch(message);
  });
});

describe('--allow <migration>:<rule>', () => {
  it('is checked when parsed and collected when repeated', async () => {
    expect((await parse(['migrate', '--allow', 'a_one:drop-table', '--allow', 'b_two:truncate'])).allow).toEqual(['a_one:drop-table', 'b_two:truncate']);
  });
});

describe('through the binary', () => {
  // An unreachable server: a flag accepted by mistake would end in exit 8, not 2.
  const env = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/digilog_unused', DIGILOG_CONNECT_RETRIES: '0' };

  it('--lock-wait 30s: one line naming the flag, exit 2, nothing attempted', async () => {
    const run = await runCli(['migrate', '--lock-wait', '30s'], env);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr.split('\n')[0]).toBe('Error: --lock-wait must be a whole number (got "30s")');
    expect(run.stderr).not.toContain("Can't reach database server");
    expect(run.stdout).toBe('');
  });

  it.each([
    ['unknown option', ['migrate', '--json', '--no-such-flag'], 'commander.unknownOption', /unknown option '--no-such-flag'/],
    ['missing argument', ['migrate', '--json', '--lock-wait'], 'commander.optionMissingArgument', /--lock-wait <ms>' argument missing/],
    ['missing required option', ['dev', '--json'], 'commander.missingMandatoryOptionValue', /--name <name>' not specified/],
    ['unknown command', ['migrat', '--json'], 'commander.unknownCommand', /unknown command 'migrat'/],
  ])('--json with a usage error (%s) prints one JSON error document', async (_label, args, code, message) => {
    const run = await runCli(args, env);
    expect(run.code).toBe(EXIT_CODES.usage);
    const document = JSON.parse(run.stdout);
    expect(document).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: EXIT_CODES.usage, prismaCode: null, details: { code } } });
    expect(document.error.message).toMatch(message);
    expect(Object.keys(document.error)).toEqual(['kind', 'exitCode', 'prismaCode', 'message', 'hint', 'details']);
  });

  it('--json with a bad flag value prints one JSON error document', async () => {
    const run = await runCli(['migrate', '--json', '--lock-timeout', '5x'], env);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { kind: 'usage', exitCode: EXIT_CODES.usage, details: { flag: '--lock-timeout' } } });
  });

  it('--version is the installed package.json version', async () => {
    const ownVersion = JSON.parse(readFileSync(join(CLI_DIR, 'package.json'), 'utf8')).version;
    expect((await runCli(['--version'])).stdout.trim()).toBe(ownVersion);
    // A copy of the package with another version says so: the number is not a second copy in the code.
    const copy = mkdtempSync(join(tmpdir(), 'digilog-version-'));
    for (const folder of ['bin', 'dist']) cpSync(join(CLI_DIR, folder), join(copy, folder), { recursive: true });
    symlinkSync(join(CLI_DIR, 'node_modules'), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(CLI_DIR, 'package.json'), 'utf8')), version: '9.8.7-test' }));
    const copied = spawnSync(process.execPath, [join(copy, 'bin', 'digilog-db.js'), '--version'], { encoding: 'utf8' });
    expect(copied.stdout.trim()).toBe('9.8.7-test');
  });
});
