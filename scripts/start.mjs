// `pnpm start`: build, migrate, then the API, in the foreground. SIGTERM/SIGINT sent to pnpm
// reach the step running (scripts/supervise.mjs); the API shuts down gracefully and this process
// exits with its code (0), leaving nothing behind. A signal before the API starts starts nothing more.
import { fileURLToPath } from 'node:url';
import { PNPM, supervisor } from './supervise.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
// The README's first command runs on the embedded database when DATABASE_URL is unset, CI included:
// asked for explicitly, since a missing URL in CI is otherwise a configuration error.
process.env.DIGILOG_EMBEDDED ??= 'true';
const { run } = supervisor();
const [pnpm, pnpmArgs] = PNPM;
const steps = [
  [pnpm, [...pnpmArgs, 'run', 'build']],
  [process.execPath, ['packages/cli/bin/digilog-db.js', 'migrate']],
  [process.execPath, ['packages/api/dist/server.js']],
];
let code = 0;
for (const [command, args] of steps) {
  code = await run(command, args);
  if (code !== 0) break;
}
process.exit(code);
