/**
 * Keeps a fresh health snapshot for the endpoints: the library's checkHealth()
 * (the same status checker `digilog-db status` and `health` run), refreshed
 * in the background so that polling costs the database nothing, while a new
 * failure shows within one refresh interval.
 */
import { ReplicaProbe, checkHealth, healthBody, type HealthSnapshot, type RunnerOptions } from '@digilog/db';
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
  /** Refreshes whose database check came out unhealthy (for /metrics). */
  failedChecks = 0;

  constructor(private readonly options: HealthMonitorOptions) {
    this.snapshot = { status: null, checkError: 'not checked yet', replica: null, checkedAt: new Date(0), boot: options.boot, shuttingDown: false };
    this.replica = options.replicaUrl ? new ReplicaProbe(options.replicaUrl, options.runner.target.schema) : undefined;
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
    if (healthBody(this.snapshot, 'db').database.status === 'unhealthy') this.failedChecks += 1;
    this.logTransitions(previous.checkedAt.getTime() > 0 ? previous : null, this.snapshot);
  }

  /** One line per change of state (and one for the first check), so logs show when health turned and why. */
  private logTransitions(previous: HealthSnapshot | null, next: HealthSnapshot): void {
    const { log } = this.options;
    const before = previous ? (previous.status?.state ?? previous.checkError) : null;
    const after = next.status?.state ?? next.checkError;
    if (before !== after) {
      const status = healthBody(next, 'db').database.status;
      log(status === 'healthy' ? 'info' : status === 'degraded' ? 'warn' : 'error', 'health changed', { event: 'health.changed', component: 'database', from: before, to: after, status });
      if (next.checkError) {
        log('error', 'database unreachable from the health check', { event: 'database.unreachable', kind: next.checkError });
      }
    }
    const replicaBefore = previous?.replica ? replicaState(previous) : null;
    const replicaAfter = next.replica ? replicaState(next) : null;
    if (replicaAfter !== null && replicaBefore !== replicaAfter) {
      log(replicaAfter === 'healthy' ? 'info' : 'warn', 'replica health changed', { event: 'health.changed', component: 'replica', from: replicaBefore, to: replicaAfter });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing?.catch(() => {});
    await this.replica?.close();
  }
}

function replicaState(snapshot: HealthSnapshot): 'healthy' | 'unreachable' | 'behind' {
  if (!snapshot.replica?.reachable) return 'unreachable';
  return snapshot.replica.hasLatestMigration === false ? 'behind' : 'healthy';
}
