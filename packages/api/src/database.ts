/**
 * Prisma Client on the primary and, when DATABASE_URL_REPLICA is set, on the
 * replica, with read-your-writes routing: a client that just wrote reads from
 * the primary until the replica has replayed past that write.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { parseTarget, pgConnection } from '@digilog/db';
import { PrismaClient } from './generated/prisma/client.js';
import { parseLsn } from '@digilog/db';
import type { Logger } from './log.js';

export type Prisma = InstanceType<typeof PrismaClient>;

/** A Prisma Client and the pg Pool under it (ours, so /metrics can read its counts and its errors are logged). */
export interface PooledPrisma {
  prisma: Prisma;
  pool: pg.Pool;
}

export function createPrisma(url: string, { name = 'primary', log }: { name?: string; log?: Logger } = {}): PooledPrisma {
  const target = parseTarget(url);
  // TLS as libpq reads sslmode (and Prisma sslaccept), passed to pg explicitly (see @digilog/db config/tls.ts).
  const pool = new pg.Pool(pgConnection(target));
  // An idle client losing its server (restart, failover) emits 'error' on the pool; unhandled, it would crash the API.
  pool.on('error', (error: Error & { code?: string }) => {
    log?.('error', 'database connection error', { event: 'database.connection_error', pool: name, code: error.code ?? null, error: error.message });
  });
  return { prisma: new PrismaClient({ adapter: new PrismaPg(pool, { schema: target.schema }) }), pool };
}

/** How long a client's write pins its reads to the primary at most (the replica may be down meanwhile). */
const PIN_MS = 30_000;
const MAX_TRACKED_CLIENTS = 10_000;

export class DatabaseRouter {
  private readonly lastWrites = new Map<string, { lsn: bigint; at: number }>();

  readonly primary: Prisma;
  readonly replica: Prisma | undefined;
  /** The pools by name (`primary`, `replica`), for the pool gauges of /metrics. */
  readonly pools: Record<string, pg.Pool>;

  constructor(
    primary: PooledPrisma,
    replica: PooledPrisma | undefined,
    /** The replica's replay position as last probed, or null when unknown/unreachable. */
    private readonly replicaReplayLsn: () => bigint | null,
  ) {
    this.primary = primary.prisma;
    this.replica = replica?.prisma;
    this.pools = { primary: primary.pool, ...(replica ? { replica: replica.pool } : {}) };
  }

  /** The client to read from for this caller. */
  forRead(clientKey: string): { db: Prisma; target: 'primary' | 'replica' } {
    if (!this.replica) return { db: this.primary, target: 'primary' };
    const replayed = this.replicaReplayLsn();
    if (replayed === null) return { db: this.primary, target: 'primary' };
    const write = this.lastWrites.get(clientKey);
    if (write && Date.now() - write.at < PIN_MS && replayed < write.lsn) return { db: this.primary, target: 'primary' };
    return { db: this.replica, target: 'replica' };
  }

  /** Records the primary's WAL position after a write by this caller. */
  async recordWrite(clientKey: string): Promise<void> {
    if (!this.replica) return;
    const rows = await this.primary.$queryRawUnsafe<Array<{ lsn: string }>>('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = parseLsn(rows[0]?.lsn);
    if (lsn === null) return;
    this.lastWrites.delete(clientKey);
    this.lastWrites.set(clientKey, { lsn, at: Date.now() });
    if (this.lastWrites.size > MAX_TRACKED_CLIENTS) this.lastWrites.delete(this.lastWrites.keys().next().value!);
  }

  async disconnect(): Promise<void> {
    await Promise.all([this.primary.$disconnect(), this.replica?.$disconnect()]);
    // The adapter leaves pools it did not create open.
    await Promise.all(Object.values(this.pools).map((pool) => pool.end().catch(() => {})));
  }
}
