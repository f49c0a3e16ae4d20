// Loads the CLI bundle (or, with GATED_IMPORT, nothing yet), reports "ready" over IPC, then runs
// `digilog-db <args>` (or imports GATED_IMPORT, e.g. the API server) the moment the parent says
// "go": many processes can then start within milliseconds of each other, which spawning them
// one by one (tens of ms per spawn from a test worker) cannot achieve.
const entry = process.env.GATED_IMPORT;
const cli = entry ? undefined : await import(new URL('../../dist/cli.bundle.mjs', import.meta.url).href);
process.once('message', (message) => {
  if (message !== 'go') return;
  process.stderr.write(`gated-cli: go at ${Date.now()}\n`);
  process.disconnect();
  if (cli) void cli.main(process.argv);
  else void import(entry);
});
process.send('ready');
