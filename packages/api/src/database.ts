/**
 * Prisma Client on the primary and, when DATABASE_URL_REPLICA is set, on the
 * replica, with read-your-writes routing: a client that just wrote reads from
 * the primary until the replica has replayed past that write.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { parseTarget } from '@digilog/db';
import { PrismaClient } from './generated/prisma/client.js';
import { parseLsn } from '@digilog/db';

export type Prisma = InstanceType<typeof PrismaClient>;

export function createPrisma(url: string): Prisma {
  const target = parseTarget(url);
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: target.connectionString }, { schema: target.schema }) });
}

/** How long a client's write pins its reads to the primary at most (the replica may be down meanwhile). */
const PIN_MS = 30_000;
const MAX_TRACKED_CLIENTS = 10_000;

export class DatabaseRouter {
  private readonly lastWrites = new Map<string, { lsn: bigint; at: number }>();

  constructor(
    readonly primary: Prisma,
    readonly replica: Prisma | undefined,
    /** The replica's replay position as last probed, or null when unknown/unreachable. */
    private readonly replicaReplayLsn: () => bigint | null,
  ) {}

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
  }
}
