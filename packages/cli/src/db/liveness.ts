/**
 * Guards a pinned session against a silent network cut. node-postgres waits for a reply
 * forever, and TCP alone may take many minutes to notice a peer that vanished (or never
 * notices a middlebox that keeps the connection open and drops the data). A long migration
 * legitimately sends nothing for a long time either, so a plain query timeout would cancel
 * real work; instead, once the session has waited `stallMs` with no byte from the server, a
 * probe on a fresh short connection asks whether the session's backend still exists.
 * The session is ended (its pending query fails with a connection error) only when that
 * backend is gone or `maxFailures` probes in a row cannot reach the server at all.
 */
import type { Socket } from 'node:net';
import pg from 'pg';
import { clientConfig, type DatabaseTarget } from '../config/target.js';

export interface LivenessOptions {
  /** How long a query may wait without any byte from the server before the server is probed. */
  stallMs: number;
  /** Budget of one probe (connect + one query). */
  probeTimeoutMs: number;
  /** Probes in a row that fail to reach the server before the session is given up. */
  maxFailures: number;
  applicationName: string;
}

export interface LivenessWatch {
  /** Why the session was ended, if the watch ended it. */
  readonly failure: string | undefined;
  stop(): void;
}

/** Server errors that still prove the server is up and answering (it is just full). */
const REACHABLE_CODES = new Set(['53300', '53400']);

/** Watches `client` (whose backend is `backendPid`) until stop(); never rejects. */
export function watchLiveness(client: pg.Client, backendPid: number, target: DatabaseTarget, options: LivenessOptions): LivenessWatch {
  let pending = 0;
  let lastActivity = performance.now();
  let failures = 0;
  let probing = false;
  let failure: string | undefined;
  const touch = () => {
    lastActivity = performance.now();
  };
  // Every query of the session goes through client.query; count the ones awaiting a reply.
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (pending++ === 0) touch();
    const result = query(...args);
    if (result instanceof Promise) void result.then(() => pending--, () => pending--);
    else pending--;
    return result;
  };
  const stream = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
  stream?.on('data', touch);

  const giveUp = (reason: string) => {
    failure = reason;
    // end() with a query in flight destroys the socket: the query rejects instead of hanging.
    void client.end().catch(() => {});
  };

  const probe = async () => {
    const checker = new pg.Client({
      ...clientConfig(target, { applicationName: `${options.applicationName} (liveness check)`, connectTimeoutMs: options.probeTimeoutMs }),
      query_timeout: options.probeTimeoutMs,
    });
    checker.on('error', () => {});
    try {
      await checker.connect();
      const rows = await checker.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ${backendPid}`);
      if (rows.rowCount === 0) return giveUp(`its server process ${backendPid} no longer exists (server restarted or session terminated)`);
      failures = 0;
    } catch (error) {
      if (REACHABLE_CODES.has((error as { code?: string }).code ?? '')) return;
      failures += 1;
      if (failures >= options.maxFailures) {
        giveUp(`no reply for ${Math.round((performance.now() - lastActivity) / 1000)} s and ${failures} liveness checks could not reach the server`);
      }
    } finally {
      // Not awaited: on a cut network a polite goodbye may never be answered.
      void checker.end().catch(() => {});
    }
  };

  const timer = setInterval(() => {
    if (failure || probing) return;
    if (pending === 0) {
      failures = 0;
      return;
    }
    if (performance.now() - lastActivity < options.stallMs) return;
    probing = true;
    void probe().finally(() => (probing = false));
  }, Math.max(100, Math.min(1_000, options.stallMs / 4)));
  timer.unref();

  return {
    get failure() {
      return failure;
    },
    stop() {
      clearInterval(timer);
      stream?.off('data', touch);
    },
  };
}
