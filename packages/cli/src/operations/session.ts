/** Opens the one pinned connection an operation runs on, and always closes it. */
import type pg from 'pg';
import { connect } from '../db/connect.js';
import { MigrationHistory } from '../db/history.js';
import { parseTarget, type DatabaseTarget } from '../db/target.js';
import type { RunnerOptions } from './runner-options.js';

export interface Session {
  client: pg.Client;
  history: MigrationHistory;
  target: DatabaseTarget;
}

/** Runs fn on a fresh connection to the primary; the connection is closed however fn ends. */
export async function withSession<T>(
  options: RunnerOptions,
  fn: (session: Session) => Promise<T>,
  { createDatabase = false }: { createDatabase?: boolean } = {},
): Promise<T> {
  const target = parseTarget(options.databaseUrl);
  const client = await connect(target, {
    retries: options.connectRetries,
    connectTimeoutMs: options.connectTimeoutMs,
    applicationName: options.applicationName,
    createDatabase,
  });
  try {
    return await fn({ client, history: new MigrationHistory(client, target.schema), target });
  } finally {
    await client.end().catch(() => {});
  }
}
