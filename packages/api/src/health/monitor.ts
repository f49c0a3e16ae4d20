/**
 * Keeps a fresh health snapshot: the shared status checker (checkStatus, the
 * same one `digilog-db status` runs) plus the replica probe, refreshed in the
 * background so that polling the endpoints costs the database nothing, while
 * a failure shows within one refresh interval.
 */
import { checkStatus, parseTarget, type RunnerOptions } from '@digilog/db';
import pg from 'pg';
import type { Logger } from '../log.js';
import type { HealthSnapshot } from './body.js';
import { parseLsn } from './lsn.js';
import { ReplicaProbe } from './replica.js';

export interface HealthMonitorOptions {
  runner: RunnerOptions;
  replicaUrl: string | undefined;
  refreshMs: number;
  boot: HealthSnapshot['boot'];
  log: Logger;
}

export class HealthMonitor {
  private snapshot: HealthSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly replica: ReplicaProbe | undefined;
  private shuttingDown = false;

  constructor(private readonly options: HealthMonitorOptions) {
    this.snapshot = { status: null, checkError: 'not checked yet', replica: null, checkedAt: new Date(0), boot: options.boot, shuttingDown: false };
    this.replica = options.replicaUrl ? new ReplicaProbe(options.replicaUrl, parseTarget(options.runner.databaseUrl).schema) : undefined;
  }

  /** First check now, then one every refreshMs (the timer does not keep the process alive). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  current(): HealthSnapshot {
    return { ...this.snapshot, shuttingDown: this.shuttingDown };
  }

  /** The replica's replay position from the last probe (for read-your-writes routing). */
  replicaReplayLsn(): bigint | null {
    return this.snapshot.replica?.reachable ? this.snapshot.replica.replayLsn : null;
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** One refresh at a time; concurrent callers share it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const previous = this.snapshot;
    let status: HealthSnapshot['status'] = null;
    let checkError: string | null = null;
    try {
      status = await checkStatus({ ...this.options.runner, connectRetries: 0, connectTimeoutMs: 2_000 });
    } catch (error) {
      checkError = (error as { kind?: string }).kind ?? 'error';
    }
    let replica: HealthSnapshot['replica'] = null;
    if (this.replica) {
      const primaryLsn = status ? await this.primaryLsn() : null;
      replica = await this.replica.probe(primaryLsn, status?.applied.at(-1)?.name ?? null);
    }
    this.snapshot = { status, checkError, replica, checkedAt: new Date(), boot: this.options.boot, shuttingDown: this.shuttingDown };
    const before = previous.status?.state ?? previous.checkError;
    const after = status?.state ?? checkError;
    if (previous.checkedAt.getTime() > 0 && before !== after) {
      this.options.log(after === 'upToDate' ? 'info' : 'warn', 'health changed', { from: before, to: after });
    }
  }

  private async primaryLsn(): Promise<bigint | null> {
    const client = new pg.Client({ connectionString: parseTarget(this.options.runner.databaseUrl).connectionString, connectionTimeoutMillis: 2_000 });
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

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing?.catch(() => {});
    await this.replica?.close();
  }
}
