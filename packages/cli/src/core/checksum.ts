import { createHash } from 'node:crypto';

/** Lowercase hex sha256, the checksum format of `_prisma_migrations.checksum`. */
export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Checksums of the same script with its line endings swapped. Prisma accepts
 * either, so a checkout with different `core.autocrlf` is not "edited".
 */
export function equivalentChecksums(content: string): string[] {
  const alternatives = new Set<string>();
  if (content.includes('\r\n')) alternatives.add(sha256Hex(content.replace(/\r\n/g, '\n')));
  if (/(?<!\r)\n/.test(content)) alternatives.add(sha256Hex(content.replace(/(?<!\r)\n/g, '\r\n')));
  return [...alternatives];
}
