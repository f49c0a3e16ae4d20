// Runs the library's migrate() in a child process with the options in DIGILOG_TEST_OPTIONS (JSON);
// with DIGILOG_TEST_STOP_AT=<n> it announces "at step <n>" on stdout before the online step n
// runs and then hangs, so the parent can kill -9 it at that exact point.
const { migrate } = await import(new URL('../../dist/index.js', import.meta.url).href);
const options = JSON.parse(process.env.DIGILOG_TEST_OPTIONS);
const stopAt = Number(process.env.DIGILOG_TEST_STOP_AT ?? 0);
const hooks = {
  beforeOnlineStep: (_name, step) => {
    if (step !== stopAt) return;
    process.stdout.write(`at step ${step}\n`);
    return new Promise(() => {});
  },
};
try {
  const result = await migrate({ ...options, hooks });
  process.stdout.write(`${JSON.stringify({ ok: true, applied: result.applied })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, kind: error.kind, message: error.message })}\n`);
  process.exitCode = 1;
}
