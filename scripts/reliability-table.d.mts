/** Types of scripts/reliability-table.mjs, for its test. */
import type { ReliabilityRecord } from '../packages/cli/test/support/reliability.js';

/** One line of reliability-results.jsonl: the test's record plus the test's name and file. */
export type EvidenceRecord = ReliabilityRecord & { test?: string; file?: string };
export interface VitestReport {
  testResults: Array<{ name: string; assertionResults: Array<{ ancestorTitles: string[]; title: string; status: string }> }>;
}
/** The matrix rows the table expects a record for (1–29, 35, 36). */
export const MATRIX_ROWS: number[];
export const START: string;
export const END: string;
export function parseRecords(text: string): EvidenceRecord[];
export function renderTable(records: EvidenceRecord[], report: VitestReport, options?: { root?: string; matrixRows?: number[] }): string;
export function replaceBetweenMarkers(doc: string, table: string): string;
