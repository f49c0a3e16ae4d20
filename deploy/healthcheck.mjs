// Container HEALTHCHECK: asks the running API, not the database. The API answers from its
// cached health snapshot (refreshed every HEALTH_REFRESH_MS), so frequent checks cost the
// database nothing, and a hung API process is caught too (`digilog-db health` would not see it).
// Exit 0 only on HTTP 200 (healthy or degraded), 1 otherwise. Usage: node healthcheck.mjs [path]
const port = process.env.PORT && process.env.PORT !== '0' ? process.env.PORT : '3000';
const path = process.argv[2] ?? '/api/v1/health';
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  process.exitCode = response.status === 200 ? 0 : 1;
} catch {
  process.exitCode = 1;
}
