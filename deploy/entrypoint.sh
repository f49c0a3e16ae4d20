#!/bin/sh
# Container entry point (PID 1 is tini, which forwards signals to this script):
#   1. with AUTO_MIGRATE=true or NODE_ENV=production (ensureMigrated()'s rule), run
#      `digilog-db migrate` (on DIRECT_URL, the migration role, when it is set; else DATABASE_URL);
#      a failure stops here with its exit code (6 failed migration,
#      8 database unreachable, ... see README) so the orchestrator shows it and retries;
#   2. then `exec` the API, so the API itself receives SIGTERM and shuts down gracefully.
# Any arguments replace the API: `docker run IMAGE digilog-db status`.
set -eu

log() {
  # One JSON line, like the CLI's and the API's logs (LOG_FORMAT=json in the image).
  printf '{"level":"%s","time":"%s","service":"entrypoint","event":"%s","msg":"%s"}\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" "$3" >&2
}

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

# The API's compiled entry, relative to the working directory (/app in the image).
APP_ENTRY="${APP_ENTRY:-dist/server.js}"

wants_migration() {
  case "$(printf '%s' "${AUTO_MIGRATE:-}" | tr '[:upper:]' '[:lower:]')" in
    true | 1 | yes | on) return 0 ;;
  esac
  [ "${NODE_ENV:-}" = production ]
}

if wants_migration; then
  log info entrypoint.migrate 'running digilog-db migrate before starting the API'
  # In the background, so this shell can relay SIGTERM/SIGINT (a shell does not forward
  # signals to a foreground child): migrate then finishes its current migration and exits 11.
  digilog-db migrate &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null || true' TERM
  trap 'kill -INT "$child" 2>/dev/null || true' INT
  code=0
  wait "$child" || code=$?
  # A relayed signal interrupts `wait` while migrate is still finishing: wait for its real exit code.
  while kill -0 "$child" 2>/dev/null; do
    code=0
    wait "$child" || code=$?
  done
  trap - TERM INT
  if [ "$code" -ne 0 ]; then
    log error entrypoint.migrate_failed "digilog-db migrate exited with code $code; the API is not started"
    exit "$code"
  fi
fi

log info entrypoint.start "starting the API ($APP_ENTRY)"
exec node "$APP_ENTRY"
