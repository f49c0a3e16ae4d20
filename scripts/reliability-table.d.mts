/** Types of scripts/reliability-table.mjs, for its test. */
export interface EvidenceRecord {
  row: number;
  scenario: string;
  fault: string;
  result: string;
  runners?: number;
  faults?: number;
  badInputs?: number;
  lostOrDoubled?: number;
  leakedPasswords?: number;
  test?: string;
  file?: string;
}
export interface VitestReport {
  testResults: Array<{ name: string; assertionResults: Array<{ ancestorTitles: string[]; title: string; status: string }> }>;
}
export const MATRIX_ROWS: number;
export const START: string;
export const END: string;
export function parseRecords(text: string): EvidenceRecord[];
export function renderTable(records: EvidenceRecord[], report: VitestReport, options?: { root?: string; matrixRows?: number }): string;
export function replaceBetweenMarkers(readme: string, table: string): string;
