/** PostgreSQL WAL positions ('16/B374D848') as comparable numbers. */
export function parseLsn(lsn: string | null | undefined): bigint | null {
  if (!lsn) return null;
  const [high, low] = lsn.split('/');
  if (high === undefined || low === undefined) return null;
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}
