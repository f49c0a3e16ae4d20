/**
 * Entry point of `digilog-db`: a registry of commands and the one place that
 * turns errors into exit codes. Each command module is small; the operations
 * it runs (pg, the SQL parser, the WASM engine) are imported only when used.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { asDigilogError } from './db/connect.js';
import { DigilogError, EXIT_CODES } from './errors.js';
import { formatInArgv, isCiFormat } from './output/format.js';
import { render as renderCi } from './output/render.js';
import { createTerminal } from './output/terminal.js';
import { printError } from './output/error.js';
import { Run } from './commands/run.js';
import { register as registerDev } from './commands/dev.js';
import { register as registerDiff } from './commands/diff.js';
import { register as registerGenerate } from './commands/generate.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerPush } from './commands/push.js';
import { register as registerHealth } from './commands/health.js';
import { register as registerSeed } from './commands/seed.js';
import { register as registerLint } from './commands/lint.js';
import { register as registerMigrate } from './commands/migrate.js';
import { register as registerReset } from './commands/reset.js';
import { register as registerResolve } from './commands/resolve.js';
import { register as registerRoles } from './commands/roles.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerStudio } from './commands/studio.js';
import { register as registerApiKey } from './commands/api-key.js';
import { register as registerRollback } from './commands/rollback.js';
import { register as registerDownSql } from './commands/down-sql.js';

/**
 * The installed package's version, read at run time: src/, dist/ and the bundle in dist/ all sit
 * one folder below package.json (one small file read; nothing to keep in step by hand).
 */
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Builds the program for one run (exported for option-parsing tests). */
export function buildProgram(run: Run = new Run()): Command {
  const program = new Command('digilog-db')
    .description('The migration authority for the DigiLog Settings API (Prisma-compatible, PostgreSQL).')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const register of [registerMigrate, registerStatus, registerResolve, registerReset, registerSeed, registerHealth, registerGenerate, registerDev, registerPush, registerPull, registerDiff, registerStudio, registerLint, registerRoles, registerApiKey, registerRollback, registerDownSql]) register(program, run);
  program.addHelpText(
    'after',
    `
Environment: DATABASE_URL (unset: embedded PGlite; with CI set, only with --embedded or DIGILOG_EMBEDDED=true),
             NODE_ENV, AUTO_MIGRATE, DIGILOG_LOCK_TIMEOUT, ... (see README)
Exit codes: 0 ok, 1 error, 2 usage/config, 3 pending, 4 dangerous change blocked, 5 lock timeout,
            6 failed migration (resolve needed), 7 history mismatch, 8 database unreachable,
            9 refused in production, 10 schema not managed (baseline needed),
            11 stopped by a signal between migrations, 12 backup failed (nothing migrated),
            130/143 dev, diff, push or pull stopped by SIGINT/SIGTERM (after its clean-up)`,
  );
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and exits with the code of the table in errors.ts (the only place digilog-db exits). */
export async function main(argv: string[]): Promise<void> {
  ignoreClosedReader();
  neverBlockOnTerminal();
  const run = new Run();
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv);
    // The command returned its outcome: its one document or report is printed here, nowhere else.
    const { exitCode, json, render, report } = run.outcome;
    const format = formatInArgv(argv);
    const terminal = run.terminal ?? createTerminal({ json: format === 'json', format });
    if (isCiFormat(terminal.format)) {
      if (report) process.stdout.write(await renderCi(terminal.format, report, { cwd: process.cwd() }));
    } else if (terminal.json && json !== undefined) terminal.printJson(json);
    else if (!terminal.json) render?.(terminal);
    process.exitCode = exitCode;
    await run.cleanUp();
    // A finished command exits even if a library left a timer armed (the WASM schema engine
    // arms 60 s timers it never clears; the loader clears those it knows).
    await exitAfterFlush(exitCode);
  } catch (thrown) {
    const format = formatInArgv(argv);
    const json = format === 'json';
    if (thrown instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error.
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(thrown.code);
      // Commander has told a human on stderr; a --json caller still gets its one document on stdout.
      if (!ok && json) printError(createTerminal({ json, format }), usageError(thrown));
      await exitAfterFlush(ok ? EXIT_CODES.ok : EXIT_CODES.usage);
    }
    const error = thrown instanceof DigilogError ? thrown : asDigilogError(thrown);
    printError(run.terminal ?? createTerminal({ json, format }), error);
    await run.cleanUp();
    await exitAfterFlush(error.exitCode);
  }
}

/** A commander usage error (unknown option, missing argument, ...) as the usage DigilogError that --json prints. */
function usageError(error: CommanderError): DigilogError {
  return new DigilogError('usage', error.message.replace(/^error: /, ''), { hint: 'Run with --help for usage.', details: { code: error.code } });
}

/**
 * A reader that goes away (`digilog-db lint --json | head`) must neither crash the command with
 * Node's "Unhandled 'error' event" stack trace nor stop a migration half-way: the command goes
 * on, what it would still print is dropped, and it exits with its own code.
 */
function ignoreClosedReader(): void {
  for (const stream of [process.stdout, process.stderr]) {
    // EIO: the terminal itself is gone (ssh session or `script` closed; SIGHUP follows).
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'EIO' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
}

/**
 * Node writes to a terminal synchronously, so a terminal that stops reading (Ctrl-S, a stalled
 * `script` or ssh session) would stop the whole process mid-write: signals unhandled, the
 * migration lock held. libuv opens its own description of the tty, so making it non-blocking
 * affects no other process; writes then queue (ora skips frames while they drain).
 */
function neverBlockOnTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.isTTY) (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(false);
  }
}

/**
 * Exits once stdout and stderr have handed everything to the OS. Writes to a pipe are not
 * always synchronous (measured: `lint --json | cat` lost everything after the first 64 KiB
 * when process.exit followed the write), so an empty write's callback is the flush point.
 */
async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolveFlush) => stream.write('', () => resolveFlush()))));
  process.exit(code);
}
