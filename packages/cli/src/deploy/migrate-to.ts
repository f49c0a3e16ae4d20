/** `migrate --to <name>`: a step-wise deploy applies the pending migrations only up to a given one. */
import { compareNames, type Migration } from '../read/migrations-folder.js';
import { DigilogError } from '../errors.js';

/**
 * The pending migrations up to and including `to` (all of them without `to`), in order.
 * Throws `usage` when `to` is no folder of the migrations folder. Pure.
 */
export function pendingUpTo(pending: readonly Migration[], local: readonly Migration[], to: string | undefined): Migration[] {
  if (to === undefined) return [...pending];
  if (!local.some((m) => m.name === to)) {
    throw new DigilogError('usage', `Unknown migration "${to}" for --to: no such folder in the migrations folder`, {
      hint: 'Pass the folder name of a migration, e.g. 20240101000000_init (`digilog-db status` lists them).',
      details: { migration: to },
    });
  }
  return pending.filter((m) => compareNames(m.name, to) <= 0);
}
