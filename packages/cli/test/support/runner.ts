/** RunnerOptions for a test database and migrations folder, with test-friendly timeouts. */
import { dirname } from 'node:path';
import type { RunnerOptions } from '../../src/config/runner-options.js';
import { parseTarget } from '../../src/config/target.js';

export function testRunner(databaseUrl: string, migrationsDir: string, overrides: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    target: parseTarget(databaseUrl),
    migrationsDir,
    schemaPath: `${dirname(migrationsDir)}/schema.prisma`,
    production: false,
    lockWaitMs: 10_000,
    connectRetries: 0,
    connectTimeoutMs: 3_000,
    lockTimeoutMs: 10_000,
    statementTimeoutMs: 3_600_000,
    migrationBudgetMs: 60_000,
    largeTableRows: 100_000,
    applicationName: 'digilog-db test',
    ...overrides,
  };
}
