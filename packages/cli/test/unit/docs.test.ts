/**
 * The README and docs/ as a newcomer meets them: the README opens with the two commands and fits in
 * a few screens, its exit-code table is the one errors.ts decides, and no relative link is dead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { REPO_ROOT } from '../support/migrations.js';

const README = join(REPO_ROOT, 'README.md');
const DOCS = join(REPO_ROOT, 'docs');
const docFiles = () => readdirSync(DOCS).filter((name) => name.endsWith('.md')).map((name) => join(DOCS, name));
const read = (file: string) => readFileSync(file, 'utf8');

/** The text outside fenced code blocks and inline code spans (links there are examples, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, title] of withoutFences.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const base = title!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every link target in the prose: inline links and images. */
function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

describe('README.md', () => {
  const readme = read(README);

  it('opens with the two commands, exactly', () => {
    expect(readme.startsWith('# digilog-db\n\n```bash\nnpm install -g pnpm@10.34.8 && pnpm install && pnpm start\n```\n\n```bash\npnpm test\n```\n')).toBe(true);
  });

  it('is at most 15 KB, with commands, configuration and exit codes before the contents', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(15 * 1024);
    const order = ['## Commands', '## Configuration', '## Exit codes', '## Contents'].map((heading) => readme.indexOf(`\n${heading}\n`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('links every document in docs/', () => {
    const targets = new Set(links(readme).map((link) => link.split('#')[0]));
    for (const file of docFiles()) expect(targets, relative(REPO_ROOT, file)).toContain(relative(REPO_ROOT, file));
  });

  it('its exit-code table lists exactly the codes of EXIT_CODES (packages/cli/src/errors.ts), once each, in order', () => {
    const section = readme.slice(readme.indexOf('\n## Exit codes\n'));
    const table = section.slice(0, section.indexOf('\n## ', 1)).split('\n').filter((line) => /^\| \d+ \|/.test(line));
    const documented = table.map((line) => Number(line.split('|')[1]!.trim()));
    const decided = [...new Set(Object.values(EXIT_CODES))].sort((a, b) => a - b);
    expect(documented).toEqual(decided);
    for (const line of table) expect(line.split('|')[2]!.trim(), line).not.toBe('');
  });
});

describe('relative links in README.md and docs/*.md', () => {
  const files = [README, ...docFiles()];

  it.each(files.map((file) => [relative(REPO_ROOT, file), file] as const))('%s: every relative link points to an existing file and heading', (_name, file) => {
    const dead: string[] = [];
    for (const link of links(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:: not checked offline
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      if (!existsSync(target)) {
        dead.push(`${link} (no such file)`);
        continue;
      }
      if (anchor && statSync(target).isFile() && target.endsWith('.md') && !anchors(read(target)).has(decodeURIComponent(anchor))) {
        dead.push(`${link} (no such heading)`);
      }
    }
    expect(dead).toEqual([]);
  });

  it('the anchor rule matches GitHub on the headings these files use', () => {
    expect([...anchors('# Safety: classifying pending SQL\n## Fault tests (matrix rows 1–12, 29)\n## The DigiLog Settings API (`packages/api`)\n## Exit codes\n## Exit codes\n')]).toEqual([
      'safety-classifying-pending-sql',
      'fault-tests-matrix-rows-112-29',
      'the-digilog-settings-api-packagesapi',
      'exit-codes',
      'exit-codes-1',
    ]);
  });
});
