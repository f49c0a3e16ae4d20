/**
 * `migrate --trace`: what PostgreSQL actually did for each statement. Inside
 * a transaction the backend's own pg_locks rows, read before and after the
 * statement, are the locks it took (they are held until COMMIT, so the hold
 * time is known exactly); a statement that cannot run in a transaction block
 * (CREATE INDEX CONCURRENTLY) is watched from a second session sampling
 * pg_locks for the migration's pid. A relfilenode that changed means the
 * table or index was rewritten.
 */
import pg from 'pg';
import { cannotRunInTransaction, parseStatements, type ParsedStatement } from '../plan/execution-mode.js';
import { lockNeedsOf, type LockMode } from '../plan/locks.js';

/** One lock a statement took, and how long it was held (ms). */
export interface TracedLock {
  relation: string;
  mode: LockMode;
  heldMs: number;
}

/** What one statement did. */
export interface StatementTrace {
  migration: string;
  /** 1-based statement of the file (or online step's first statement). */
  statement: number | undefined;
  sql: string;
  durationMs: number;
  locks: TracedLock[];
  /** Relations whose relfilenode changed: rewritten. */
  rewritten: string[];
  /** How the locks were observed. */
  observedBy: 'backend' | 'sampling';
}

const LOCKS = `SELECT l.relation::regclass::text AS relation, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
  WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted AND c.relnamespace <> 'pg_catalog'::regnamespace AND c.relname <> '_prisma_migrations'`;
const FILENODES = `SELECT c.oid::regclass::text AS relation, c.relfilenode::text AS node FROM pg_class c
  WHERE c.oid = ANY(SELECT to_regclass(quote_ident(x.schema) || '.' || quote_ident(x.name)) FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text))
     OR c.oid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid = ANY(SELECT to_regclass(quote_ident(x.schema) || '.' || quote_ident(x.name)) FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text)))`;

/** How often the second session samples pg_locks while a statement runs outside a transaction (ms). */
const SAMPLE_MS = 5;

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
    if (statements.length === 1 && cannotRunInTransaction(statements[0]!)) return this.sampled(client, text, where, lockNeedsOf(statements[0]!));
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

  private record(trace: StatementTrace): void {
    this.traces.push(trace);
    this.emit(trace);
  }

  /** A statement outside a transaction block: a second session samples its locks while it runs. */
  private async sampled(client: pg.Client, text: string, where: { migration: string; statement: number | undefined }, needs: Array<{ schema: string | undefined; name: string }>): Promise<void> {
    const monitor = await this.open();
    const seen = new Map<string, { relation: string; mode: LockMode; first: number; last: number }>();
    let running = true;
    const sampler = (async () => {
      while (running) {
        const now = performance.now();
        for (const l of (await monitor.query<{ relation: string; mode: LockMode }>(LOCKS, [this.pid])).rows) {
          const known = seen.get(key(l));
          if (known) known.last = now;
          else seen.set(key(l), { ...l, first: now, last: now });
        }
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
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
