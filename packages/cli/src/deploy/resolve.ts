/**
 * `resolve --applied` / `resolve --rolled-back`: Prisma's recovery commands
 * for a failed migration, with Prisma's semantics and error codes.
 */
import { DigilogError } from '../errors.js';
import { readMigrations } from '../read/migrations-folder.js';
import { withMigrationLock } from './migrate.js';
import type { RunnerOptions } from '../config/runner-options.js';
import { withSession } from '../db/session.js';

export type ResolveAction = 'applied' | 'rolled-back';

export interface ResolveResult {
  action: ResolveAction;
  migration: string;
  /** Rows marked rolled back (for `applied`, the failed attempts it supersedes). */
  rolledBackRows: number;
  database: string;
}

/** Marks a migration applied or rolled back. Throws `usage` errors (P3008, P3011, P3012, P3017) for wrong names or states. */
export async function resolveMigration(options: RunnerOptions, action: ResolveAction, name: string): Promise<ResolveResult> {
  const local = readMigrations(options.migrationsDir);
  const migration = local.find((m) => m.name === name);
  if (action === 'applied' && !migration) {
    throw new DigilogError('usage', `Migration "${name}" was not found in ${options.migrationsDir}`, {
      prismaCode: 'P3017',
      hint: suggest(name, local.map((m) => m.name)),
      details: { migration: name },
    });
  }
  return withSession(options, (session) =>
    withMigrationLock(session, options, async () => {
      const rows = (await session.history.readRows()) ?? [];
      const live = rows.filter((row) => row.migrationName === name && row.rolledBackAt === null);
      const now = new Date();
      if (action === 'applied') {
        if (live.some((row) => row.finishedAt !== null)) {
          throw new DigilogError('usage', `Migration "${name}" is already recorded as applied in the database`, {
            prismaCode: 'P3008',
            details: { migration: name },
          });
        }
        // Baselining: the table may not exist yet.
        await session.history.create();
        const rolledBackRows = await session.history.markRolledBack(name, now);
        await session.history.insertResolvedApplied(name, migration!.checksum, now);
        return { action, migration: name, rolledBackRows, database: session.target.label };
      }
      const anyRows = rows.some((row) => row.migrationName === name);
      if (!anyRows) {
        throw new DigilogError('usage', `Migration "${name}" cannot be rolled back because it was never applied to the database`, {
          prismaCode: 'P3011',
          hint: suggest(name, local.map((m) => m.name)),
          details: { migration: name },
        });
      }
      if (!live.some((row) => row.finishedAt === null)) {
        throw new DigilogError('usage', `Migration "${name}" cannot be rolled back because it is not in a failed state`, {
          prismaCode: 'P3012',
          hint: 'Only failed migrations can be marked rolled back. To undo an applied migration, write a new migration that reverses it.',
          details: { migration: name },
        });
      }
      const rolledBackRows = await session.history.markRolledBack(name, now);
      return { action, migration: name, rolledBackRows, database: session.target.label };
    }),
  );
}

function suggest(name: string, known: string[]): string {
  const close = known.filter((k) => k.includes(name) || name.includes(k.replace(/^\d+_/, '')));
  if (close.length > 0) return `Did you mean ${close.map((c) => `"${c}"`).join(' or ')}? Run \`digilog-db status\` to list migrations.`;
  return 'Run `digilog-db status` to list the migrations and their states.';
}
