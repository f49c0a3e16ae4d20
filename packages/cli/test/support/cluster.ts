/**
 * A PostgreSQL cluster of the test's own, in a temp dir on a free loopback
 * port, for faults the shared server must not suffer (stop, restart, a
 * streaming replica). The binaries refuse to run as root, so they run as the
 * `postgres` user. Everything listens on 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1)!, 'bin');
const asPostgres = (command: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Cluster {
  port: number;
  dataDir: string;
  url(database?: string): string;
  start(): void;
  stop(mode?: 'fast' | 'immediate'): void;
  /** A streaming replica of this cluster (pg_basebackup -R), started. */
  startReplica(): Promise<Cluster>;
  destroy(): void;
}

function makeCluster(root: string, dataDir: string, port: number): Cluster {
  const log = join(root, `${port}.log`);
  const cluster: Cluster = {
    port,
    dataDir,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    start: () => void asPostgres('pg_ctl', ['-D', dataDir, '-l', log, '-w', '-t', '30', 'start']),
    stop: (mode = 'fast') => void asPostgres('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']),
    async startReplica() {
      const replicaPort = await freePort();
      const replicaDir = join(root, `replica-${replicaPort}`);
      asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast']);
      appendFileSync(join(replicaDir, 'postgresql.auto.conf'), `port = ${replicaPort}\n`);
      const replica = makeCluster(root, replicaDir, replicaPort);
      replica.start();
      return replica;
    },
    destroy() {
      try {
        cluster.stop('immediate');
      } catch {
        // already stopped
      }
    },
  };
  return cluster;
}

/** initdb + start; the primary is ready for streaming replicas. Call destroyAll() (or destroy()) afterwards. */
export async function startCluster(): Promise<Cluster & { destroyAll(replicas?: Cluster[]): void }> {
  const root = mkdtempSync(join(tmpdir(), 'digilog-pg-'));
  chmodSync(root, 0o755);
  execFileSync('chown', ['postgres:postgres', root]);
  const port = await freePort();
  const dataDir = join(root, 'primary');
  asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\nwal_level = replica\nmax_wal_senders = 5\nfsync = off\nshared_buffers = 32MB\n`,
  );
  appendFileSync(join(dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  const cluster = makeCluster(root, dataDir, port);
  cluster.start();
  return Object.assign(cluster, {
    destroyAll(replicas: Cluster[] = []) {
      for (const c of [...replicas, cluster]) c.destroy();
      rmSync(root, { recursive: true, force: true });
    },
  });
}
