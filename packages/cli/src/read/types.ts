/** Data shared by the pure core: migrations on disk and rows of `_prisma_migrations`. */

/** One `<name>/migration.sql` folder of the migrations directory. */
export interface LocalMigration {
  /** Folder name, e.g. `20240115103000_init`; Prisma orders migrations by byte order of this name. */
  name: string;
  /** Absolute path of the migration.sql file. */
  path: string;
  sql: string;
  /** sha256 hex of the file, as Prisma records it. */
  checksum: string;
}

/** A row of `_prisma_migrations`, exactly as Prisma Migrate defines it. */
export interface MigrationRow {
  id: string;
  checksum: string;
  finishedAt: Date | null;
  migrationName: string;
  logs: string | null;
  rolledBackAt: Date | null;
  startedAt: Date;
  appliedStepsCount: number;
}
