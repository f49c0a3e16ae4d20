/**
 * The classification rules: for each rule, its level, the lock PostgreSQL
 * takes, what that lock blocks, and the safer way. Data, not code, so the
 * README and `lint --json` can show the same table.
 */

export type Level = 'safe' | 'care' | 'dangerous';

export interface Rule {
  level: Level;
  lock: string;
  blocks: 'nothing' | 'writes' | 'reads and writes';
  message: string;
  alternative?: string;
}

const AE = 'ACCESS EXCLUSIVE';

export const RULES = {
  'create-table': { level: 'safe', lock: 'none on existing tables', blocks: 'nothing', message: 'creates a table' },
  'add-nullable-column': { level: 'safe', lock: AE, blocks: 'reads and writes', message: 'adds an optional column (metadata only, brief lock)' },
  'add-column-constant-default': { level: 'safe', lock: AE, blocks: 'reads and writes', message: 'adds a column with a constant default (metadata only since PostgreSQL 11)' },
  'create-index-concurrently': { level: 'safe', lock: 'SHARE UPDATE EXCLUSIVE', blocks: 'nothing', message: 'builds an index without blocking writes' },
  'create-enum': { level: 'safe', lock: 'none', blocks: 'nothing', message: 'creates an enum type' },
  'add-enum-value': { level: 'safe', lock: 'none on tables', blocks: 'nothing', message: 'adds an enum value' },
  'create-index-new-table': { level: 'safe', lock: 'SHARE', blocks: 'writes', message: 'indexes a table created in the same migration (empty)' },
  'other-ddl': { level: 'safe', lock: 'varies', blocks: 'nothing', message: 'no known risk for this statement' },

  'drop-column': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'drops a column: its data is lost, and code still reading it breaks', alternative: 'Expand/contract: stop using the column in a release first, drop it in a later migration.' },
  'change-column-type': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'changes a column type: usually rewrites the table and its indexes while holding the lock', alternative: 'Add a new column, backfill in batches, switch reads, then drop the old one.' },
  'add-required-column': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'adds a NOT NULL column without default: fails on a non-empty table', alternative: 'Add it nullable (or with a default), backfill, then SET NOT NULL.' },
  'add-column-volatile-default': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'adds a column whose default is volatile: rewrites the whole table under the lock', alternative: 'Add the column without default, backfill in batches, then set the default.' },
  'rename-column': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'renames a column: running code that uses the old name breaks', alternative: 'Expand/contract: add the new column, write both, backfill, switch reads, drop the old one.' },
  'rename-table': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'renames a table: running code that uses the old name breaks', alternative: 'Create the new table (or a view with the old name) and migrate in steps.' },
  'create-index': { level: 'care', lock: 'SHARE', blocks: 'writes', message: 'builds an index on an existing table while blocking writes', alternative: 'CREATE INDEX CONCURRENTLY, alone in its own migration (`-- digilog:no-transaction`).' },
  'add-foreign-key': { level: 'care', lock: 'SHARE ROW EXCLUSIVE (both tables)', blocks: 'writes', message: 'adds a foreign key and validates every row while blocking writes on both tables', alternative: 'ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later migration.' },
  'add-check-constraint': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'adds a CHECK constraint and scans the table under the lock', alternative: 'ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT.' },
  'add-unique-constraint': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'adds a UNIQUE constraint, building its index under the lock', alternative: 'CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX.' },
  'set-not-null': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'SET NOT NULL scans the whole table under the lock', alternative: 'ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (uses the check).' },
  'drop-index': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'drops an index under an exclusive lock; queries that used it slow down', alternative: 'DROP INDEX CONCURRENTLY in its own migration.' },
  'drop-type': { level: 'care', lock: AE, blocks: 'reads and writes', message: 'drops a type' },
  'backfill': { level: 'care', lock: 'ROW EXCLUSIVE', blocks: 'nothing', message: 'changes data in a migration: long transactions, locked rows', alternative: 'Batch large backfills outside the schema migration.' },
  'procedural-code': { level: 'care', lock: 'unknown', blocks: 'reads and writes', message: 'runs procedural code that cannot be inspected' },
  'non-atomic-file': { level: 'care', lock: "each statement's own", blocks: 'nothing', message: 'creates an index CONCURRENTLY among other statements: the file runs one statement at a time, as Prisma 7.4+ runs it, so it is not atomic and a failure half-way leaves the earlier statements applied', alternative: 'Put CREATE INDEX CONCURRENTLY in a migration of its own, so the rest stays atomic.' },
  'create-trigger': { level: 'care', lock: 'SHARE ROW EXCLUSIVE', blocks: 'writes', message: 'adds a trigger: every later write runs it' },

  'drop-table': { level: 'dangerous', lock: AE, blocks: 'reads and writes', message: 'drops a table and all its data', alternative: 'Stop using it in a release first; keep a backup; drop it later.' },
  'drop-schema': { level: 'dangerous', lock: AE, blocks: 'reads and writes', message: 'drops a schema and everything in it' },
  'truncate': { level: 'dangerous', lock: AE, blocks: 'reads and writes', message: 'deletes every row of a table' },
  'delete-without-where': { level: 'dangerous', lock: 'ROW EXCLUSIVE', blocks: 'nothing', message: 'DELETE without WHERE deletes every row' },
  'update-without-where': { level: 'dangerous', lock: 'ROW EXCLUSIVE', blocks: 'nothing', message: 'UPDATE without WHERE rewrites every row' },
  'drop-primary-key': { level: 'dangerous', lock: AE, blocks: 'reads and writes', message: 'drops a primary key: rows lose their identity, foreign keys break' },
  'add-primary-key': { level: 'dangerous', lock: AE, blocks: 'reads and writes', message: 'adds a primary key to an existing table, building its index under the lock', alternative: 'CREATE UNIQUE INDEX CONCURRENTLY, then ADD PRIMARY KEY USING INDEX.' },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;
