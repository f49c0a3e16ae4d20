/**
 * `migrate --trace`: what PostgreSQL actually did for each statement. Inside
 * a transaction the backend's own pg_locks rows, read before and after the
 * statement, are the locks it took (they are held until COMMIT, so the hold
 * time is known exactly); a statement that cannot run in a transaction block
 * (CREATE INDEX CONCURRENTLY) is watched from a second session sampling
 * pg_locks for the migration's pid. A relfilenode that changed means the
 * table or index was rewritten. A concurrent index build on a small table
 * (a scratch database's are empty) can end between two samples, so the second
 * session holds ROW EXCLUSIVE on its table until the build, holding its SHARE
 * UPDATE EXCLUSIVE, waits for that writer (as it waits for every writer): the
 * lock is then seen at least once, at the cost of a few ms of build time.
 */
import pg from 'pg';
import { cannotRunInTransaction, parseStatements, type ParsedStatement } from '../plan/execution-mode.js';
import { lockNeedsOf, type LockMode } from '../plan/locks.js';
import { quoteIdent } from '../config/target.js';
import type { StatementTrace, TracedBatch, TracedLock } from '../apply/statement-trace.js';

const LOCKS = `SELECT l.relation::regclass::text AS relation, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
  WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted AND c.relnamespace <> 'pg_catalog'::regnamespace AND c.relname <> '_prisma_migrations'`;
const FILENODES = `SELECT c.oid::regclass::text AS relation, c.relfilenode::text AS node FROM pg_class c
  WHERE c.oid = ANY(SELECT to_regclass(quote_ident(x.schema) || '.' || quote_ident(x.name)) FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text))
     OR c.oid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid = ANY(SELECT to_regclass(quote_ident(x.schema) || '.' || quote_ident(x.name)) FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text)))`;

/** How often the second session samples pg_locks while a statement runs outside a transaction (ms). */
const SAMPLE_MS = 5;
/** Whether the migration's backend waits for a lock (the concurrent build waiting for the tracer's writer). */
const WAITING = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted) AS waiting`;
/** The tracer's writer waits this long for its own lock, and is held at most this long (ms). */
const BARRIER_LOCK_MS = 100;
const BARRIER_MAX_MS = 2_000;

const key = (l: { relation: string; mode: string }) => `${l.relation}\u0000${l.mode}`;

/** Traces statements on the migration's session; `open` gives a second session for sampling. */
export class Tracer {
  readonly traces: StatementTrace[] = [];
  private pid: number | undefined;

  constructor(
    private readonly schema: string,
    private readonly open: () => Promise<pg.Client>,
    private readonly emit: (trace: StatementTrace) => void = () => {},
  ) {}

  /**
   * Runs `text` (one script: its statements, then any bookkeeping) with every statement traced. Statements
   * that can run in a transaction run in one explicit transaction, as the script would have (atomic).
   */
  async run(client: pg.Client, text: string, where: { migration: string; statement: number | undefined; numbers?: Array<number | undefined> }): Promise<void> {
    this.pid ??= (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const statements = await parseStatements(text).catch(() => null);
    if (!statements || statements.some((s) => s.nodeType === 'TransactionStmt')) return this.sampled(client, text, where, statements?.flatMap(lockNeedsOf) ?? []);
    if (statements.length === 1 && cannotRunInTransaction(statements[0]!)) {
      const only = statements[0]!;
      const build = only.nodeType === 'IndexStmt' && only.node.concurrent === true;
      return this.sampled(client, text, where, lockNeedsOf(only), build ? this.relations(only) : []);
    }
    await client.query('BEGIN');
    const started: Array<{ trace: StatementTrace; at: number; taken: Array<{ relation: string; mode: LockMode }> }> = [];
    try {
      for (const [i, statement] of statements.entries()) {
        const number = where.numbers?.[i] ?? where.statement ?? i + 1;
        const needs = this.relations(statement);
        const before = await this.locks(client);
        const nodesBefore = await this.filenodes(client, needs);
        const at = performance.now();
        await client.query(statement.text);
        const durationMs = performance.now() - at;
        const had = new Set(before.map(key));
        const taken = (await this.locks(client)).filter((l) => !had.has(key(l)));
        const nodesAfter = await this.filenodes(client, needs);
        const rewritten = [...nodesBefore].filter(([relation, node]) => nodesAfter.has(relation) && nodesAfter.get(relation) !== node).map(([relation]) => relation);
        if (isBookkeeping(statement)) continue;
        started.push({ trace: { migration: where.migration, statement: number, sql: brief(statement.text), durationMs, locks: [], rewritten, observedBy: 'backend' }, at, taken });
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    const committed = performance.now();
    for (const { trace, at, taken } of started) {
      trace.locks = taken.map((l) => ({ ...l, heldMs: Math.round(committed - at) }));
      this.record(trace);
    }
  }

  /** The table locks this session holds now (inside a batch's transaction: the batch's own). */
  async heldBy(client: pg.Client): Promise<Array<{ relation: string; mode: LockMode }>> {
    this.pid ??= (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return this.locks(client);
  }

  /** Records a batched UPDATE's batches as one statement: how many, rows, the longest, and every lock any batch held. */
  recordBatches(where: { migration: string; statement: number | undefined }, sql: string, durationMs: number, batches: TracedBatch[]): void {
    const locks = new Map<string, TracedLock>();
    for (const batch of batches) {
      for (const l of batch.locks) {
        const known = locks.get(key(l));
        if (!known || known.heldMs < batch.ms) locks.set(key(l), { relation: l.relation, mode: l.mode, heldMs: Math.round(batch.ms) });
      }
    }
    this.record({
      migration: where.migration,
      statement: where.statement,
      sql: brief(sql),
      durationMs,
      locks: [...locks.values()],
      rewritten: [],
      observedBy: 'backend',
      batches: { count: batches.length, rows: batches.reduce((sum, b) => sum + b.rows, 0), longestMs: Math.round(Math.max(0, ...batches.map((b) => b.ms))) },
    });
  }

  private record(trace: StatementTrace): void {
    this.traces.push(trace);
    this.emit(trace);
  }

  /** A statement outside a transaction block: a second session samples its locks while it runs. */
  private async sampled(
    client: pg.Client,
    text: string,
    where: { migration: string; statement: number | undefined },
    needs: Array<{ schema: string | undefined; name: string }>,
    barrierOn: Array<{ schema: string | undefined; name: string }> = [],
  ): Promise<void> {
    const monitor = await this.open();
    const seen = new Map<string, { relation: string; mode: LockMode; first: number; last: number }>();
    let running = true;
    let barrier = barrierOn.length > 0 && (await this.holdWriters(monitor, barrierOn));
    const release = async () => {
      if (!barrier) return;
      barrier = false;
      await monitor.query('COMMIT').catch(() => {});
    };
    // Never held longer than this, whatever happens: the build must not wait on the tracer.
    const safety = setTimeout(() => void release(), BARRIER_MAX_MS);
    const sampler = (async () => {
      try {
        while (running) {
          const now = performance.now();
          for (const l of (await monitor.query<{ relation: string; mode: LockMode }>(LOCKS, [this.pid])).rows) {
            const known = seen.get(key(l));
            if (known) known.last = now;
            else seen.set(key(l), { ...l, first: now, last: now });
          }
          // The build waits for the writer only once it holds its own lock: that sample above saw it.
          if (barrier && (await monitor.query<{ waiting: boolean }>(WAITING, [this.pid])).rows[0]!.waiting) {
            await release();
            continue;
          }
          await new Promise((r) => setTimeout(r, barrier ? 0 : SAMPLE_MS));
        }
      } finally {
        clearTimeout(safety);
        await release();
      }
    })();
    const nodesBefore = await this.filenodes(monitor, needs);
    const at = performance.now();
    try {
      await client.query(text);
    } finally {
      running = false;
      await sampler.catch(() => {});
    }
    const durationMs = performance.now() - at;
    const nodesAfter = await this.filenodes(monitor, needs);
    await monitor.end().catch(() => {});
    const rewritten = [...nodesBefore].filter(([relation, node]) => nodesAfter.has(relation) && nodesAfter.get(relation) !== node).map(([relation]) => relation);
    this.record({
      migration: where.migration,
      statement: where.statement,
      sql: brief(text),
      durationMs,
      // Sampled: a lock seen once was held up to one interval (a statement shorter than that may show none).
      locks: [...seen.values()].map((l) => ({ relation: l.relation, mode: l.mode, heldMs: Math.round(l.last - l.first + SAMPLE_MS) })),
      rewritten,
      observedBy: 'sampling',
    });
  }

  /** The writer a concurrent build waits for: ROW EXCLUSIVE on its tables, in an open transaction (false: not got at once). */
  private async holdWriters(monitor: pg.Client, tables: Array<{ schema: string | undefined; name: string }>): Promise<boolean> {
    try {
      await monitor.query(`BEGIN; SET LOCAL lock_timeout = '${BARRIER_LOCK_MS}ms'`);
      for (const t of tables) await monitor.query(`LOCK TABLE ${quoteIdent(t.schema ?? this.schema)}.${quoteIdent(t.name)} IN ROW EXCLUSIVE MODE`);
      return true;
    } catch {
      await monitor.query('ROLLBACK').catch(() => {});
      return false;
    }
  }

  private relations(statement: ParsedStatement): Array<{ schema: string | undefined; name: string }> {
    return lockNeedsOf(statement).map(({ schema, name }) => ({ schema, name }));
  }

  private async locks(client: pg.Client): Promise<Array<{ relation: string; mode: LockMode }>> {
    return (await client.query<{ relation: string; mode: LockMode }>(LOCKS, [this.pid])).rows;
  }

  private async filenodes(client: pg.Client, relations: Array<{ schema: string | undefined; name: string }>): Promise<Map<string, string>> {
    if (relations.length === 0) return new Map();
    const payload = JSON.stringify(relations.map((r) => ({ schema: r.schema ?? this.schema, name: r.name })));
    return new Map((await client.query<{ relation: string; node: string }>(FILENODES, [payload])).rows.map((r) => [r.relation, r.node]));
  }
}

/** The runner's own writes to _prisma_migrations are not the migration's. */
function isBookkeeping(statement: ParsedStatement): boolean {
  const relation = (statement.node.relation as { relname?: string } | undefined)?.relname;
  return relation === '_prisma_migrations';
}

function brief(sql: string): string {
  const text = sql.replace(/^(\s*--[^\n]*\n)+/, '').trim();
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
