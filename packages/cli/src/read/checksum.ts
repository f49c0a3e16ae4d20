/**
 * Migration checksums exactly as Prisma computes and verifies them, from
 * prisma-engines `schema-engine/connectors/schema-connector/src/checksum.rs`
 * (`render_checksum`, `script_matches_checksum`, `format_checksum_old`).
 *
 * The engine hashes the script *text* it was handed: the Prisma CLI reads
 * migration.sql with `fs.readFile(path, 'utf-8')` (prisma/prisma
 * `packages/migrate/src/utils/listMigrations.ts`), which replaces invalid
 * UTF-8 with U+FFFD. So the checksum is over the UTF-8 of that decoded text,
 * not over the raw bytes; the two differ only for a non-UTF-8 file, and there
 * the raw-bytes sum would make each tool call the other's row edited.
 */
import { createHash } from 'node:crypto';

/** Lowercase hex sha256 (UTF-8 of a string), the checksum format of `_prisma_migrations.checksum`. */
export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The script text Prisma sees for a migration.sql: the file decoded as UTF-8, invalid sequences replaced. */
export function scriptText(bytes: Buffer): string {
  return bytes.toString('utf8');
}

/** The checksum Prisma writes for a new row of this script (zero-padded hex, 64 characters). */
export function renderChecksum(script: string): string {
  return sha256Hex(script);
}

const CHECKSUM_STR_LEN = 64;

/**
 * Prisma 2.x wrote each byte with `{:x}`, dropping a leading zero nibble
 * (prisma-engines issue #1887); the engine still accepts such rows.
 */
function unpaddedHex(digest: Buffer): string {
  return [...digest].map((byte) => byte.toString(16)).join('');
}

/**
 * Whether a recorded checksum matches the script, as `script_matches_checksum`
 * decides: the script as is, with every CRLF made LF, or with every LF made
 * CRLF (Rust's `replace('\n', "\r\n")` also turns an existing CRLF into
 * CR CR LF, and so does this); a recorded value that is not empty and not 64
 * characters long is compared in the old unpadded form.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const old = checksum.length > 0 && checksum.length !== CHECKSUM_STR_LEN;
  const variants = [() => script, () => script.replaceAll('\r\n', '\n'), () => script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant()).digest();
    return (old ? unpaddedHex(digest) : digest.toString('hex')) === checksum;
  });
}
