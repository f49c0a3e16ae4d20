/**
 * Applies one migration on the pinned, locked connection with Prisma's
 * bookkeeping: a "started" row first (so a crash leaves a visible failed
 * migration), then the script, then the "finished" record. In transactional
 * mode the finished record travels in the script's own implicit transaction,
 * so "script committed but not recorded" cannot happen.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { executionModeOf, parseStatements, type ExecutionMode } from '../core/execution-mode.js';
import { describeScriptError, type ServerErrorFields } from '../core/sql-error.js';
import type { LocalMigration } from '../core/types.js';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import type { MigrationHistory } from './history.js';

export interface AppliedResult {
  name: string;
  mode: ExecutionMode;
  durationMs: number;
}

/** Test-only fault injection: lets reliability tests stop the runner at an exact point. */
export interface ApplyHooks {
  afterStartRecorded?: (name: string) => Promise<void> | void;
}

/** Applies one migration; throws `migration-sql` (P3018) after recording the failure. */
export async function applyMigration(
  client: pg.Client,
  history: MigrationHistory,
  migration: LocalMigration,
  hooks: ApplyHooks = {},
): Promise<AppliedResult> {
  const mode = await executionModeOf(migration.sql);
  const id = randomUUID();
  const started = performance.now();
  await client.query(history.startSql(id, migration.name, migration.checksum, new Date()));
  await hooks.afterStartRecorded?.(migration.name);
  let failedStatement = 0;
  let failingText = migration.sql;
  try {
    if (mode === 'transactional') {
      // One simple query = one implicit transaction: script and record commit together.
      // The script comes first so the server's error positions point into it unchanged.
      await client.query(`${migration.sql}\n;\n${history.finishSql(id, new Date())}`);
    } else if (mode === 'as-written') {
      await client.query(migration.sql);
      await client.query(history.finishSql(id, new Date()));
    } else {
      const statements = await parseStatements(migration.sql);
      for (const [index, statement] of statements.entries()) {
        failedStatement = index + 1;
        failingText = statement.text;
        await client.query(statement.text);
      }
      await client.query(history.finishSql(id, new Date()));
    }
  } catch (error) {
    // A script that opened its own transaction leaves it aborted; end it before recording.
    await client.query('ROLLBACK').catch(() => {});
    const fields = error as ServerErrorFields;
    const described = describeScriptError(failingText, fields);
    const partial =
      mode === 'statement-by-statement' && failedStatement > 1
        ? `\nStatements 1 to ${failedStatement - 1} of this migration were applied (it runs without a transaction).\n`
        : mode === 'statement-by-statement'
          ? '\nNo statement of this migration was applied.\n'
          : '';
    const logs = redact(described.logs + partial);
    await history.recordFailure(id, logs).catch(() => {});
    throw new DigilogError('migration-sql', `Migration ${migration.name} failed to apply: ${redact(described.message)}`, {
      prismaCode: 'P3018',
      hint: failureHint(migration.name, mode),
      details: {
        migration: migration.name,
        sqlState: described.sqlState,
        line: described.line,
        column: described.column,
        failedStatement: mode === 'statement-by-statement' ? failedStatement : undefined,
        logs,
      },
    });
  }
  return { name: migration.name, mode, durationMs: performance.now() - started };
}

function failureHint(name: string, mode: ExecutionMode): string {
  const undo =
    mode === 'transactional'
      ? 'Nothing of it was applied (it ran in one transaction).'
      : 'It ran outside a single transaction: check which of its changes were applied.';
  return `${undo} Fix the migration, then run \`digilog-db resolve --rolled-back "${name}"\` and \`digilog-db migrate\`; or, if you applied it by hand, \`digilog-db resolve --applied "${name}"\`.`;
}
