/** Links into the repository's Markdown docs, as GitHub renders them (alert runbook_urls point there). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './migrations.js';

/** GitHub's anchor for a Markdown heading. */
export const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors of the `##`–`####` headings of a doc, e.g. `docs/operations.md` (path from the repository root). */
export function headingAnchors(doc: string): Set<string> {
  return new Set([...readFileSync(join(REPO_ROOT, doc), 'utf8').matchAll(/^#{2,4} (.+)$/gm)].map((m) => slug(m[1]!)));
}
