/**
 * Every string that leaves digilog-db (terminal, --json, logs, health bodies,
 * the migrations table's `logs` column) passes through redact(): passwords in
 * connection strings must never be shown, in any encoding.
 */

const knownSecrets = new Set<string>();

/** Registers a secret (e.g. the password parsed from DATABASE_URL) to be masked wherever it appears. */
export function registerSecret(secret: string | undefined | null): void {
  if (!secret || secret.length < 3) return;
  knownSecrets.add(secret);
  // The same password may appear percent-encoded (in a URL) or decoded (in an error).
  try {
    knownSecrets.add(encodeURIComponent(secret));
    knownSecrets.add(decodeURIComponent(secret));
  } catch {
    // A malformed percent sequence cannot be decoded; the raw form is enough.
  }
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^@\s/]*)?@/gi;
const QUERY_PASSWORD = /([?&;\s](?:password|pass|pwd|sslpassword)=)[^&\s'"]*/gi;
const KEYWORD_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)/gi;

/** Returns the text with credentials masked as `****`. Pure, idempotent. */
export function redact(text: string): string {
  let out = text
    .replace(URL_USERINFO, (_m, scheme: string, user: string, pass: string | undefined) =>
      pass ? `${scheme}${user}:****@` : `${scheme}${user}@`,
    )
    .replace(QUERY_PASSWORD, '$1****')
    .replace(KEYWORD_PASSWORD, '$1****');
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('****');
  }
  return out;
}

/** Redacts every string inside a JSON-like value (for --json output and health bodies). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item);
    return out as T;
  }
  return value;
}
