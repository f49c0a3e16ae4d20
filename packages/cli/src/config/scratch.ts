/**
 * The scratch database of `migrate --dry-run --trace`: given by `--scratch-url` or DIGILOG_SCRATCH_URL,
 * parsed once here into a DatabaseTarget like the migrated database's own URL. It must not be the
 * migrated database: the dry run fills the scratch database and empties it again.
 */
import { DigilogError } from '../errors.js';
import { isPostgresUrl, registerUrlSecrets } from './config.js';
import { parseTarget, sameDatabase, type DatabaseTarget } from './target.js';

/** Where the scratch URL came from, as the user wrote it (for the one-line error). */
export type ScratchSource = '--scratch-url' | 'DIGILOG_SCRATCH_URL';

/**
 * The scratch database as a target, in the migrated database's schema (so the files' unqualified
 * names resolve as they do there). Throws `usage` (exit 2) for a malformed URL or the target itself. Pure but for secret registration.
 */
export function scratchTarget(url: string, source: ScratchSource, target: DatabaseTarget): DatabaseTarget {
  registerUrlSecrets(url);
  if (!isPostgresUrl(url.trim())) {
    throw new DigilogError('usage', `${source} is not a valid PostgreSQL connection string (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE)`, { details: { variable: source } });
  }
  const scratch = parseTarget(url.trim());
  if (sameDatabase(scratch, target)) {
    throw new DigilogError('usage', `${source} names the database being migrated (${target.label}): the scratch database must be another, empty one`, {
      hint: 'Create one on any server of the same PostgreSQL version, e.g. `createdb digilog_scratch`, and pass its URL.',
      details: { variable: source },
    });
  }
  return { ...scratch, schema: target.schema };
}
