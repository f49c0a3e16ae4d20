/**
 * Entry point of `digilog-db`: a registry of commands and the one place that
 * turns errors into exit codes. Each command module is small; the operations
 * it runs (pg, the SQL parser, the WASM engine) are imported only when used.
 */
import { Command, CommanderError } from 'commander';
import { asDigilogError } from './db/connect.js';
import { DigilogError, EXIT_CODES } from './errors.js';
import { createTerminal, printError } from './output/terminal.js';
import { currentTerminal, outcome, runExitHooks } from './commands/common.js';
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
import { register as registerStatus } from './commands/status.js';
import { register as registerStudio } from './commands/studio.js';

const VERSION = '0.1.0';

/** Builds the program (exported for option-parsing tests). */
export function buildProgram(): Command {
  const program = new Command('digilog-db')
    .description('The migration authority for the DigiLog Settings API (Prisma-compatible, PostgreSQL).')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const register of [registerMigrate, registerStatus, registerResolve, registerReset, registerSeed, registerHealth, registerGenerate, registerDev, registerPush, registerPull, registerDiff, registerStudio, registerLint]) register(program);
  program.addHelpText(
    'after',
    `
Environment: DATABASE_URL (unset: embedded PGlite), NODE_ENV, AUTO_MIGRATE, DIGILOG_LOCK_TIMEOUT, ... (see README)
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
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    process.exitCode = outcome.exitCode;
    await runExitHooks();
    // A finished command exits even if a library left a timer armed (the WASM schema engine
    // arms 60 s timers it never clears; the loader clears those it knows).
    await exitAfterFlush(outcome.exitCode);
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error.
      const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(thrown.code);
      await exitAfterFlush(ok ? EXIT_CODES.ok : EXIT_CODES.usage);
    }
    const error = thrown instanceof DigilogError ? thrown : asDigilogError(thrown);
    const json = argv.includes('--json');
    printError(currentTerminal ?? createTerminal({ json }), error);
    await runExitHooks();
    await exitAfterFlush(error.exitCode);
  }
}

/**
 * A reader that goes away (`digilog-db lint --json | head`) must neither crash the command with
 * Node's "Unhandled 'error' event" stack trace nor stop a migration half-way: the command goes
 * on, what it would still print is dropped, and it exits with its own code.
 */
function ignoreClosedReader(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
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
