/**
 * One health check: the shared status checker on the primary plus, when a
 * replica is configured, its reachability, lag and latest migration. Used by
 * `digilog-db health` once and by the API's background monitor repeatedly.
 */
import pg from 'pg';
import { isConnectionLoss } from '../db/connect.js';
import { clientConfig, type DatabaseTarget } from '../config/target.js';
import { checkStatus } from '../status/check-status.js';
import type { RunnerOptions } from '../config/runner-options.js';
import type { HealthSnapshot } from './body.js';
import { parseLsn } from './lsn.js';
import type { ReplicaProbe } from './replica.js';

export interface HealthCheckOptions {
  runner: RunnerOptions;
  replica: ReplicaProbe | undefined;
  boot: HealthSnapshot['boot'];
}

/** Takes a snapshot; never throws (an unreachable database is a state, not an error). */
export async function checkHealth({ runner, replica, boot }: HealthCheckOptions): Promise<HealthSnapshot> {
  let status: HealthSnapshot['status'] = null;
  let checkError: string | null = null;
  try {
    status = await checkStatus({ ...runner, connectRetries: 0, connectTimeoutMs: Math.min(runner.connectTimeoutMs, 2_000) });
  } catch (error) {
    // A session cut under the check (the server restarting, DROP DATABASE … WITH (FORCE)) is the
    // database going away, not an error of no kind: the state says "unreachable" at once.
    checkError = (error as { kind?: string }).kind ?? (isConnectionLoss(error) ? 'unreachable' : 'error');
  }
  let replicaState: HealthSnapshot['replica'] = null;
  if (replica) {
    const primaryLsn = status ? await currentWalLsn(runner.target) : null;
    replicaState = await replica.probe(primaryLsn, status?.applied.at(-1)?.name ?? null);
  }
  return { status, checkError, replica: replicaState, checkedAt: new Date(), boot, shuttingDown: false };
}

async function currentWalLsn(target: DatabaseTarget): Promise<bigint | null> {
  const client = new pg.Client({ ...clientConfig(target, { applicationName: 'digilog-db health' }), connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return parseLsn(rows[0]?.lsn);
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}
