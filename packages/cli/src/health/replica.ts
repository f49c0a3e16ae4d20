/**
 * Probes the read replica: reachable, in recovery, replay position, lag, and
 * whether it already has the newest migration the primary applied.
 */
import pg from 'pg';
import { clientConfig, parseTarget, quoteIdent, quoteLiteral } from '../config/target.js';
import { parseLsn } from './lsn.js';

export interface ReplicaState {
  reachable: boolean;
  /** Seconds behind the primary; 0 when it has replayed everything the primary wrote. */
  lagSeconds: number | null;
  replayLsn: bigint | null;
  latestMigration: string | null;
  hasLatestMigration: boolean | null;
  /** Short reason when unreachable (never a connection string). */
  error?: string;
}

/** Keeps one connection to the replica and reconnects after a failure. */
export class ReplicaProbe {
  private client: pg.Client | undefined;

  constructor(
    private readonly url: string,
    private readonly schema: string,
  ) {}

  async probe(primaryLsn: bigint | null, primaryLatestMigration: string | null): Promise<ReplicaState> {
    try {
      const client = await this.connection();
      const table = `${quoteIdent(this.schema)}."_prisma_migrations"`;
      const { rows } = await client.query<{ replay_lsn: string | null; replay_age: number | null; latest: string | null }>(
        `SELECT pg_last_wal_replay_lsn()::text AS replay_lsn,
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age,
                CASE WHEN to_regclass(${quoteLiteral(table)}) IS NULL THEN NULL ELSE
                  (SELECT migration_name FROM ${table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
                    ORDER BY migration_name DESC LIMIT 1) END AS latest`,
      );
      const row = rows[0]!;
      const replayLsn = parseLsn(row.replay_lsn);
      const caughtUp = replayLsn !== null && primaryLsn !== null && replayLsn >= primaryLsn;
      return {
        reachable: true,
        lagSeconds: caughtUp ? 0 : row.replay_age === null ? null : Math.max(0, Number(row.replay_age)),
        replayLsn,
        latestMigration: row.latest,
        hasLatestMigration: primaryLatestMigration === null ? null : row.latest === primaryLatestMigration,
      };
    } catch (error) {
      await this.close();
      const code = (error as { code?: string }).code;
      return { reachable: false, lagSeconds: null, replayLsn: null, latestMigration: null, hasLatestMigration: null, error: code ?? 'unreachable' };
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ ...clientConfig(parseTarget(this.url), { applicationName: 'digilog-db health' }), connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    await client.connect();
    this.client = client;
    return client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
