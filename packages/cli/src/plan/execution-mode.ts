/**
 * How a migration script must be sent to PostgreSQL. The stock Prisma adapter
 * splits scripts on `;` and runs the pieces outside any transaction; the
 * native engine sends the file as one simple query. digilog-db sends it as
 * one simple query too, and in the common case also commits the history row
 * in that same implicit transaction.
 */
import { createRequire } from 'node:module';
import { withBaselineWasmCompiler } from '../wasm-compiler.js';

/**
 * - `transactional`: the script plus the "finished" record in one implicit transaction (atomic).
 * - `as-written`: the script manages its own transactions or has a statement that cannot
 *   run in a transaction block (e.g. CREATE INDEX CONCURRENTLY): sent alone, exactly as the native engine does.
 * - `statement-by-statement`: each statement on its own, not atomic. Opted in with
 *   `-- digilog:no-transaction`, or implied by a multi-statement file that creates an index
 *   CONCURRENTLY: Prisma 7.4+ splits such a file into statements (prisma-engines #5767, and #5799
 *   for the shadow database), so digilog-db applies the same history the same way.
 */
export type ExecutionMode = 'transactional' | 'as-written' | 'statement-by-statement';

export interface ParsedStatement {
  /** The statement's node type in PostgreSQL's parse tree, e.g. `CreateStmt`. */
  nodeType: string;
  node: Record<string, unknown>;
  /** Statement text as written (without the trailing semicolon). */
  text: string;
  /** Byte offset in the UTF-8 file where the statement's range starts (leading comments included). */
  offset: number;
}

export const NO_TRANSACTION_DIRECTIVE = /^\s*--\s*digilog:no-transaction\b/im;

/**
 * Words without which no transaction-control or non-transactional statement can
 * exist. Only used to skip loading the parser for scripts that cannot need it;
 * the parser decides whenever one of them appears.
 */
const MAY_NEED_PARSE =
  /\b(begin|start|commit|end|rollback|abort|savepoint|release|prepare|concurrently|vacuum|database|tablespace|system|cluster|subscription|reindex)\b/i;

type PgQueryModule = {
  loadModule(): Promise<void>;
  parseSync(sql: string): { stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }> };
};
let parser: Promise<PgQueryModule> | undefined;

/** PostgreSQL's own parser compiled to WebAssembly (libpg-query); loaded once, only when needed (~0.2 s). */
export function loadParser(): Promise<PgQueryModule> {
  parser ??= (async () => {
    const module = createRequire(import.meta.url)('libpg-query') as PgQueryModule;
    await withBaselineWasmCompiler(() => module.loadModule());
    return module;
  })();
  return parser;
}

/** Splits a script into statements with PostgreSQL's real parser. Rejects with the parser's error on invalid SQL. */
export async function parseStatements(sql: string): Promise<ParsedStatement[]> {
  const result = (await loadParser()).parseSync(sql);
  return toStatements(sql, result);
}

function toStatements(sql: string, result: ReturnType<PgQueryModule['parseSync']>): ParsedStatement[] {
  const bytes = Buffer.from(sql, 'utf8');
  return (result.stmts ?? []).map((raw) => {
    const [nodeType, node] = Object.entries(raw.stmt)[0] as [string, Record<string, unknown>];
    // The parser's locations are byte offsets into the UTF-8 text.
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    return { nodeType, node, text: bytes.subarray(start, end).toString('utf8').trim(), offset: start };
  });
}

/** The 1-based line of a statement's first keyword (after the comments the parser counts as part of it). */
export function lineOf(sql: string, { offset }: Pick<ParsedStatement, 'offset'>): number {
  const rest = Buffer.from(sql, 'utf8').subarray(offset).toString('utf8');
  const lead = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/.exec(rest)![0];
  const before = Buffer.from(sql, 'utf8').subarray(0, offset).toString('utf8') + lead;
  return before.split('\n').length;
}

/**
 * The BEGIN (or START TRANSACTION, or COMMIT AND CHAIN) that the file leaves open at its end,
 * if any. Such a file commits nothing: its statements, and whatever is sent after it on the
 * same connection, run inside that transaction and are rolled back when the session ends.
 */
export function unendedTransaction(statements: ParsedStatement[]): ParsedStatement | undefined {
  let open: ParsedStatement | undefined;
  for (const statement of statements) {
    if (statement.nodeType !== 'TransactionStmt') continue;
    const { kind, chain } = statement.node as { kind?: string; chain?: boolean };
    if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') open ??= statement;
    else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK') open = chain ? statement : undefined;
    else if (kind === 'TRANS_STMT_PREPARE') open = undefined;
  }
  return open;
}

/** Whether a statement cannot run inside a transaction block (PostgreSQL's PreventInTransactionBlock). */
export function cannotRunInTransaction({ nodeType, node }: ParsedStatement): boolean {
  switch (nodeType) {
    case 'TransactionStmt':
    case 'VacuumStmt':
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'AlterSystemStmt':
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
      return true;
    case 'IndexStmt':
    case 'DropStmt':
      return node.concurrent === true;
    case 'ReindexStmt': {
      const params = (node.params as Array<{ DefElem?: { defname?: string } }> | undefined) ?? [];
      return params.some((p) => p.DefElem?.defname === 'concurrently') || ['REINDEX_OBJECT_SYSTEM', 'REINDEX_OBJECT_DATABASE'].includes(String(node.kind));
    }
    case 'ClusterStmt':
      return node.relation === undefined;
    case 'AlterTableStmt': {
      // ALTER TABLE … DETACH PARTITION … CONCURRENTLY (read from the tree: serializing every
      // ALTER TABLE's commands to search them cost ~10 ms on a 163-file history).
      const cmds = (node.cmds as Array<{ AlterTableCmd?: { def?: { PartitionCmd?: { concurrent?: boolean } } } }> | undefined) ?? [];
      return cmds.some((c) => c.AlterTableCmd?.def?.PartitionCmd?.concurrent === true);
    }
    default:
      return false;
  }
}

/**
 * Whether Prisma 7.4+ applies this file statement by statement: more than one statement, at
 * least one CREATE [UNIQUE] INDEX CONCURRENTLY, and nothing else that cannot run in a
 * transaction block. Prisma does not split for DROP INDEX CONCURRENTLY or the other statements
 * (prisma-engines #5847 is open): such a file fails there with 25001, so digilog-db refuses it.
 */
export function splitLikePrisma(statements: ParsedStatement[]): boolean {
  if (statements.length < 2) return false;
  const outside = statements.filter((s) => s.nodeType !== 'TransactionStmt' && cannotRunInTransaction(s));
  return outside.length > 0 && outside.every(isCreateIndexConcurrently);
}

function isCreateIndexConcurrently({ nodeType, node }: ParsedStatement): boolean {
  return nodeType === 'IndexStmt' && node.concurrent === true;
}

/**
 * Decides how a script is executed. Pure apart from lazily loading the parser.
 * `parsed`: the statements when the caller already parsed the file (the deploy plan does),
 * or null when the parser rejected it; `directives`: the file's, when already read.
 */
export async function executionModeOf(sql: string, parsed?: ParsedStatement[] | null, directives?: { noTransaction: boolean }): Promise<ExecutionMode> {
  if (directives ? directives.noTransaction : NO_TRANSACTION_DIRECTIVE.test(sql)) return 'statement-by-statement';
  if (parsed === undefined && !MAY_NEED_PARSE.test(sql)) return 'transactional';
  let statements: ParsedStatement[];
  try {
    if (parsed === null) throw new Error('not parsed');
    statements = parsed ?? toStatements(sql, (await loadParser()).parseSync(sql));
  } catch {
    // Invalid SQL: send it exactly as written and let the server report the error with its position.
    return 'as-written';
  }
  if (splitLikePrisma(statements)) return 'statement-by-statement';
  return statements.some(cannotRunInTransaction) ? 'as-written' : 'transactional';
}
