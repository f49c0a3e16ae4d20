/**
 * What PostgreSQL did for one statement, as `--trace` records it (online/trace.ts observes it):
 * part of an applied step's result, so the apply stage and every report share one shape.
 */
import type { LockMode } from '../plan/locks.js';

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
  /**
   * A batched UPDATE (`--online`): its batches, traced as this one statement. Each lock is one a batch
   * held, `heldMs` the longest any batch held it (a batch's locks last until its COMMIT).
   */
  batches?: { count: number; rows: number; longestMs: number };
}

/** One batch of a batched UPDATE, as the runner saw it: its duration to COMMIT, rows, and the locks its backend held. */
export interface TracedBatch {
  ms: number;
  rows: number;
  locks: Array<{ relation: string; mode: LockMode }>;
}
