/**
 * Keeps a fresh health snapshot for the endpoints: the library's checkHealth()
 * (the same status checker `digilog-db status` and `health` run), refreshed
 * in the background so that polling costs the database nothing, while a new
 * failure shows within one refresh interval.
 */
import { ReplicaProbe, checkHealth, parseTarget, type HealthSnapshot, type RunnerOptions } from '@digilog/db';
import type { Logger } from '../log.js';

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
    this.snapshot = await checkHealth({ runner: this.options.runner, replica: this.replica, boot: this.options.boot });
    const before = previous.status?.state ?? previous.checkError;
    const after = this.snapshot.status?.state ?? this.snapshot.checkError;
    if (previous.checkedAt.getTime() > 0 && before !== after) {
      this.options.log(after === 'upToDate' ? 'info' : 'warn', 'health changed', { from: before, to: after });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing?.catch(() => {});
    await this.replica?.close();
  }
}
