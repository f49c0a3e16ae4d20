/** Opens the one pinned connection an operation runs on, and always closes it. */
import type pg from 'pg';
import { connect } from './connect.js';
import { MigrationHistory } from './history.js';
import { watchLiveness } from './liveness.js';
import { DigilogError } from '../errors.js';
import type { DatabaseTarget } from '../config/target.js';
import type { RunnerOptions } from '../config/runner-options.js';

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
  const { target } = options;
  const client = await connect(target, {
    retries: options.connectRetries,
    connectTimeoutMs: options.connectTimeoutMs,
    applicationName: options.applicationName,
    createDatabase,
  });
  // A silent network cut must end in an error, not a hang (see db/liveness.ts): after 2 connect
  // timeouts without a reply the server is probed; 2 probes that cannot reach it end the session.
  const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const liveness = watchLiveness(client, backendPid, target, {
    stallMs: 2 * options.connectTimeoutMs,
    probeTimeoutMs: options.connectTimeoutMs,
    maxFailures: 2,
    applicationName: options.applicationName,
  });
  try {
    return await fn({ client, history: new MigrationHistory(client, target.schema), target });
  } catch (error) {
    if (liveness.failure && error instanceof DigilogError && error.kind === 'unreachable') {
      throw new DigilogError(error.kind, `${error.message} (${liveness.failure})`, { prismaCode: error.prismaCode, hint: error.hint, details: error.details, cause: error });
    }
    throw error;
  } finally {
    liveness.stop();
    await client.end().catch(() => {});
  }
}
