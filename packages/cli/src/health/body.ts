/**
 * The health response: the seed guide's shape (status, timestamp, database
 * {status, message, details}, uptime, memory) built from a status snapshot.
 * Pure but for the process's memory and uptime. Public: it carries states and migration names only, never a
 * connection string, host, user, SQL or raw error text.
 */
import type { StatusResult } from '../status/check-status.js';
import type { ReplicaState } from './replica.js';

export type ComponentStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthSnapshot {
  /** null when the database could not be checked. */
  status: StatusResult | null;
  /** Why the check failed (an error kind such as "unreachable"), when status is null. */
  checkError: string | null;
  replica: ReplicaState | null;
  checkedAt: Date;
  /** What ensureMigrated() did at boot. */
  boot: { action: string; reason: string };
  shuttingDown: boolean;
}

export interface HealthBody {
  status: ComponentStatus;
  timestamp: string;
  database: { status: ComponentStatus; message: string; details: Record<string, unknown> };
  uptime: number;
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number };
}

/** Status of the primary database and its migrations. See README, "Health". */
export function databaseStatus(snapshot: HealthSnapshot): { status: ComponentStatus; message: string } {
  const s = snapshot.status;
  if (!s) return { status: 'unhealthy', message: 'Database connection failed' };
  switch (s.state) {
    case 'upToDate':
    case 'missingFromDisk':
      return { status: 'healthy', message: 'Database connection and migrations are healthy' };
    case 'edited':
      return { status: 'degraded', message: 'Applied migrations were modified after being applied' };
    case 'pending':
      return { status: 'unhealthy', message: 'Database schema is behind: migrations are pending' };
    case 'failed':
      return { status: 'unhealthy', message: 'A migration failed and must be resolved' };
    case 'notManaged':
      return { status: 'unhealthy', message: 'Database schema is not managed by migrations' };
  }
}

function replicaDetails(replica: ReplicaState | null): Record<string, unknown> | undefined {
  if (!replica) return undefined;
  return {
    reachable: replica.reachable,
    lagSeconds: replica.lagSeconds,
    latestMigration: replica.latestMigration,
    hasLatestMigration: replica.hasLatestMigration,
  };
}

// process.memoryUsage() reads /proc/self/stat and walks V8's heap spaces: a tenth to a fifth of the
// API's CPU under /health load when read per request (profiled, docs/operations.md). A reading up to
// a second old says as much; the database part of the body is a snapshot of that age too.
const MEMORY_MAX_AGE_MS = 1000;
let memorySample: { at: number; memory: HealthBody['memory'] } | undefined;

function memoryAt(at: number): HealthBody['memory'] {
  if (!memorySample || Math.abs(at - memorySample.at) >= MEMORY_MAX_AGE_MS) {
    const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
    memorySample = { at, memory: { rss, heapTotal, heapUsed, external } };
  }
  return memorySample.memory;
}

/** Builds the body; `scope` 'db' reports the database only, 'overall' also boot and shutdown. */
export function healthBody(snapshot: HealthSnapshot, scope: 'db' | 'overall', now = new Date()): HealthBody {
  const db = databaseStatus(snapshot);
  let status: ComponentStatus = db.status;
  if (status === 'healthy' && snapshot.replica && (!snapshot.replica.reachable || snapshot.replica.hasLatestMigration === false)) {
    // Reads fall back to the primary, so the service still works: degraded, not down.
    status = 'degraded';
  }
  if (scope === 'overall' && snapshot.shuttingDown) status = 'unhealthy';
  const s = snapshot.status;
  const details: Record<string, unknown> = {
    migrationStatus: s ? s.summary : 'Could not check migrations: the database is unreachable',
    pending: s?.pending.map((m) => m.name) ?? [],
    failed: s?.failed.map((f) => f.name) ?? [],
    edited: s?.edited.map((e) => e.name) ?? [],
    running: s?.running ?? [],
    appliedCount: s?.applied.length ?? null,
    latestMigration: s?.applied.at(-1)?.name ?? null,
    checkedAt: snapshot.checkedAt.toISOString(),
    boot: snapshot.boot.action,
  };
  const replica = replicaDetails(snapshot.replica);
  if (replica) details.replica = replica;
  if (scope === 'overall' && snapshot.shuttingDown) details.shuttingDown = true;
  return {
    status,
    timestamp: now.toISOString(),
    database: { status, message: snapshot.replica && status === 'degraded' && db.status === 'healthy' ? 'Primary healthy; read replica degraded' : db.message, details },
    uptime: Math.round(process.uptime()),
    memory: { ...memoryAt(now.getTime()) },
  };
}

/** 200 unless the service cannot serve correctly (documented in README, "Health"). */
export function httpStatusOf(body: HealthBody): 200 | 503 {
  return body.status === 'unhealthy' ? 503 : 200;
}
