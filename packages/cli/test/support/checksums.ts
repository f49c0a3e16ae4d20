/** Checksum fixtures for Prisma-compatibility tests. */
import { createHash } from 'node:crypto';

/** A script whose sha256 has a byte below 0x10, so Prisma 2's `{:x}` form of it is shorter than 64 characters. */
export function scriptWithLeadingZeroNibble(): { sql: string; padded: string; unpadded: string } {
  for (let i = 0; ; i++) {
    const sql = `CREATE TABLE a (id int); -- ${i}\n`;
    const digest = createHash('sha256').update(sql).digest();
    if (digest[0]! < 0x10) {
      return { sql, padded: digest.toString('hex'), unpadded: [...digest].map((b) => b.toString(16)).join('') };
    }
  }
}
