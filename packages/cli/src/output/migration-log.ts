/**
 * Turns the `migrate` operation's events into structured log lines: started,
 * finished and failed with name, duration and safety classification; lock
 * waits. Shared by the CLI (`LOG_FORMAT=json`) and the API's boot-time
 * ensureMigrated(), so both write the same events.
 */
import { DigilogError } from '../errors.js';
import type { MigrateEvent } from '../deploy/migrate.js';
import type { Logger } from '../log/json-logger.js';

export interface MigrationClassification {
  /** The worst finding: safe, care (requires care) or dangerous; `unparsed` when PostgreSQL's parser rejects the file. */
  level: string;
  rules: string[];
}

export interface MigrationEventLog {
  /** Pass as `onEvent` to migrate() / ensureMigrated(). */
  onEvent(event: MigrateEvent): void;
  /** Logs a failed run (call with what migrate() threw). */
  failed(error: unknown): void;
  /** Lock timeouts retried so far (for /metrics). */
  readonly lockRetries: number;
}

/** Creates the event logger. Classifications come from migrate's own plan (the `plan` event, sent before any migration starts). */
export function migrationEventLog(log: Logger): MigrationEventLog {
  const classifications = new Map<string, MigrationClassification>();
  const classificationOf = (name: string) => classifications.get(name);
  let current: { name: string; startedAt: number } | undefined;
  let lockRetries = 0;

  return {
    get lockRetries() {
      return lockRetries;
    },
    onEvent(event) {
      switch (event.type) {
        case 'lock-blockers':
          log('warn', `${event.migration}: other sessions hold or may hold the locks it needs`, { event: 'migration.lock_blockers', migration: event.migration, statement: event.statement ?? null, blockers: event.blockers });
          break;
        case 'trace':
          log('info', `${event.trace.migration} #${event.trace.statement ?? '-'}: ${event.trace.locks.map((l) => `${l.mode} on ${l.relation}`).join(', ') || 'no table lock'}`, { event: 'migration.trace', ...event.trace, durationMs: Math.round(event.trace.durationMs) });
          break;
        case 'online-unit':
          log('info', `${event.migration}: online step ${event.unit} of ${event.units} committed`, { event: 'migration.online_step', migration: event.migration, step: event.unit, steps: event.units, kind: event.kind, skipped: event.skipped, durationMs: event.durationMs });
          break;
        case 'lock-retry':
          lockRetries += 1;
          log('warn', `${event.migration}: lock timeout on attempt ${event.attempt}, retrying in ${event.delayMs} ms`, {
            event: 'migration.lock_retry',
            migration: event.migration,
            statement: event.statement ?? null,
            attempt: event.attempt,
            waitedMs: event.waitedMs,
            delayMs: event.delayMs,
            lockTimeoutMs: event.lockTimeoutMs,
            blockers: event.blockers,
          });
          break;
        case 'plan':
          // migrate's own classification, adjusted to the live tables: no need to parse again.
          for (const m of event.plan.steps) {
            classifications.set(m.migration.name, { level: m.parseError ? 'unparsed' : m.worst, rules: [...new Set(m.findings.filter((f) => f.level !== 'safe').map((f) => f.rule))] });
          }
          break;
        case 'lock-wait':
          log('warn', 'waiting for the migration lock', {
            event: 'migration.lock_wait',
            holderPid: event.holder?.pid ?? null,
            holderApplication: event.holder?.applicationName ?? null,
          });
          break;
        case 'lock-acquired':
          log('info', 'migration lock acquired', { event: 'migration.lock_acquired', waitedMs: Math.round(event.waitedMs) });
          break;
        case 'migration-start': {
          current = { name: event.name, startedAt: performance.now() };
          const classification = classificationOf(event.name);
          log('info', `applying ${event.name}`, { event: 'migration.started', migration: event.name, index: event.index + 1, total: event.total, classification });
          break;
        }
        case 'migration-done': {
          current = undefined;
          const classification = classificationOf(event.result.name);
          log('info', `applied ${event.result.name}`, {
            event: 'migration.finished',
            migration: event.result.name,
            durationMs: Math.round(event.result.durationMs),
            mode: event.result.mode,
            lockRetries: event.result.lockRetries ?? 0,
            classification,
          });
          break;
        }
        case 'warning':
          log('warn', event.message, { event: 'migration.warning' });
          break;
      }
    },
    failed(error) {
      const e = error instanceof DigilogError ? error : undefined;
      const running = current;
      const name = (e?.details.migration as string | undefined) ?? running?.name ?? null;
      const fields: Record<string, unknown> = {
        event: e?.kind === 'unreachable' ? 'database.unreachable' : e?.kind === 'lock-timeout' ? 'migration.lock_timeout' : 'migration.failed',
        migration: name,
        durationMs: running ? Math.round(performance.now() - running.startedAt) : null,
        kind: e?.kind ?? 'internal',
        exitCode: e?.exitCode ?? 1,
        prismaCode: e?.prismaCode ?? null,
        sqlState: (e?.details.sqlState as string | undefined) ?? null,
        hint: e?.hint ?? null,
      };
      const classification = name ? classificationOf(name) : undefined;
      log('error', (error as Error)?.message ?? String(error), { ...fields, classification });
    },
  };
}
