// Prisma 7 reads its configuration from this file (the Prisma CLI, e.g. for interop checks
// with `prisma migrate status`). digilog-db reads DATABASE_URL itself. A plain object, so
// that loading it needs no package at the repository root.
export default {
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  ...(process.env.DATABASE_URL ? { datasource: { url: process.env.DATABASE_URL } } : {}),
};
