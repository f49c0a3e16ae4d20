// `pnpm dev`: build once, then the TypeScript compiler in watch mode beside `node --watch` of the
// API. SIGTERM/SIGINT sent to pnpm stop both (scripts/supervise.mjs); the exit code is the API's.
import { fileURLToPath } from 'node:url';
import { PNPM, supervisor } from './supervise.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
// The README's first command runs on the embedded database when DATABASE_URL is unset, CI included:
// asked for explicitly, since a missing URL in CI is otherwise a configuration error.
process.env.DIGILOG_EMBEDDED ??= 'true';
const { run, stopping } = supervisor();
const [pnpm, pnpmArgs] = PNPM;
const built = await run(pnpm, [...pnpmArgs, 'run', 'build']);
if (built !== 0) process.exit(built);
const [compiler, api] = await Promise.all([
  run(pnpm, [...pnpmArgs, '--filter', '@digilog/api', 'exec', 'tsc', '-p', 'tsconfig.build.json', '--watch', '--preserveWatchOutput']),
  // The compiled server itself, not the bundle dist/server.js loads (only `pnpm build` makes that):
  // node --watch restarts it whenever the compiler rewrites one of its files.
  run(process.execPath, ['--watch', 'packages/api/dist/main.js']),
]);
// Stopped by a signal: the compiler has no shutdown of its own (it dies of the signal); the API's code counts.
process.exit(stopping() ? api : compiler || api);
