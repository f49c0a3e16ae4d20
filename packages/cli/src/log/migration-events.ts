/**
 * Turns the `migrate` operation's events into structured log lines: started,
 * finished and failed with name, duration and safety classification; lock
 * waits. Shared by the CLI (`LOG_FORMAT=json`) and the API's boot-time
 * ensureMigrated(), so both write the same events.
 */
import { DigilogError } from '../errors.js';
import type { MigrateEvent } from '../deploy/migrate.js';
import type { Logger } from './json-logger.js';

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
}

/** Creates the event logger. Classifications come from migrate's own plan (the `plan` event, sent before any migration starts). */
export function migrationEventLog(log: Logger): MigrationEventLog {
  const classifications = new Map<string, MigrationClassification>();
  const classificationOf = (name: string) => classifications.get(name);
  let current: { name: string; startedAt: number } | undefined;

  return {
    onEvent(event) {
      switch (event.type) {
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
