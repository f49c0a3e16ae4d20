/**
 * Evidence for the reliability table of docs/reliability.md (TEST-MATRIX.md). A test that exercises a
 * matrix row calls recordReliability() with what it injected and what it counted; the
 * figures come from the run, and scripts/reliability-table.mjs joins them with the test's
 * pass/fail status from vitest's JSON report. Nothing in the table is typed by hand.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from './migrations.js';

export const RELIABILITY_FILE = join(REPO_ROOT, 'reliability-results.jsonl');

export interface ReliabilityRecord {
  /** Row number in ../shared/TEST-MATRIX.md (1–29, 35, 36: MATRIX_ROWS of scripts/reliability-table.mjs). */
  row: number;
  /** Short name of the scenario, e.g. "16 runners at once on an empty database". */
  scenario: string;
  /** The fault or bad input actually injected, e.g. "SIGKILL during statement 2 of 3". */
  fault: string;
  /** What was observed, e.g. "each migration applied once; lock released". */
  result: string;
  /** Processes that ran at once. */
  runners?: number;
  /** Faults injected and survived (kills, restarts, cuts...). */
  faults?: number;
  /** Hostile or malformed inputs tried. */
  badInputs?: number;
  /** Migrations counted missing or applied twice afterwards (must be 0). */
  lostOrDoubled?: number;
  /** Places a password was found in output (must be 0). */
  leakedPasswords?: number;
}

/** Appends one record for the current test (call it after the test's assertions passed). */
export function recordReliability(record: ReliabilityRecord): void {
  const state = expect.getState();
  appendFileSync(RELIABILITY_FILE, `${JSON.stringify({ ...record, test: state.currentTestName, file: state.testPath })}\n`);
}
