/**
 * Acknowledgements of Dangerous changes kept outside the migration files.
 * Adding `-- digilog:allow` to a file that is already applied somewhere changes
 * its checksum, and every such database then refuses the history (exit 7); so
 * existing files are acknowledged in `digilog.acknowledgements`, committed at
 * the migrations folder's root (Prisma reads only the sub-folders there), or
 * with `--allow <migration>:<rule>`.
 *
 *   # <migration folder> <rule> [<rule> ...]      (# starts a comment)
 *   20240103000000_drop_legacy drop-table          # replaced by accounts in v2
 */
import { DigilogError } from '../errors.js';
import { RULES } from './rules.js';

export const ACKNOWLEDGEMENTS_FILE = 'digilog.acknowledgements';

/** Migration name → the rules acknowledged for it. */
export type Acknowledgements = Map<string, Set<string>>;

function checkRule(rule: string, where: string): string {
  const id = rule.toLowerCase();
  if (!(id in RULES)) {
    throw new DigilogError('usage', `${where}: unknown rule "${rule}"`, { hint: `Use a rule id that lint and migrate print in brackets, e.g. drop-table (known: ${Object.keys(RULES).join(', ')}).` });
  }
  return id;
}

function add(acks: Acknowledgements, migration: string, rule: string): void {
  const rules = acks.get(migration) ?? new Set<string>();
  rules.add(rule);
  acks.set(migration, rules);
}

/** Parses the file's text. Pure; throws `usage` naming the line of a malformed entry. */
export function parseAcknowledgements(text: string, path: string): Acknowledgements {
  const acks: Acknowledgements = new Map();
  for (const [index, raw] of text.split('\n').entries()) {
    const [migration, ...rules] = raw.replace(/#.*$/, '').split(/[\s,]+/).filter(Boolean);
    if (migration === undefined) continue;
    const where = `${path}:${index + 1}`;
    if (rules.length === 0) throw new DigilogError('usage', `${where}: "${migration}" names no rule`, { hint: 'Write one entry per line: <migration folder> <rule> [<rule> ...], e.g. 20240103000000_drop_legacy drop-table.' });
    for (const rule of rules) add(acks, migration, checkRule(rule, where));
  }
  return acks;
}

/** Adds `--allow <migration>:<rule>` values. Throws `usage` for a malformed one. */
export function withAllowFlags(acks: Acknowledgements, flags: readonly string[]): Acknowledgements {
  const merged: Acknowledgements = new Map([...acks].map(([name, rules]) => [name, new Set(rules)]));
  for (const flag of flags) {
    const colon = flag.lastIndexOf(':');
    if (colon <= 0 || colon === flag.length - 1) {
      throw new DigilogError('usage', `--allow ${flag} is not <migration>:<rule>`, { hint: 'E.g. --allow 20240103000000_drop_legacy:drop-table (repeat the flag for more).' });
    }
    add(merged, flag.slice(0, colon), checkRule(flag.slice(colon + 1), `--allow ${flag}`));
  }
  return merged;
}
