/**
 * A minimal PostgreSQL transaction pooler for tests (what PgBouncer does in
 * pool_mode=transaction): each client transaction runs on the next server connection of a
 * small pool, round robin, so session state (advisory locks, SET) does not follow the client.
 * Speaks just enough of the protocol: answers the startup itself (trust only), forwards
 * messages, and hands the server connection back when it reports ReadyForQuery 'I'.
 * Listens on 127.0.0.1 only.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TransactionPoolProxy {
  port: number;
  /** Server process ids of the pools' connections. */
  backendPids(): Promise<number[]>;
  close(): Promise<void>;
}

/** Splits a byte stream into protocol messages (type byte + int32 length). */
function messageReader(onMessage: (type: string, message: Buffer) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readInt32BE(1);
      if (buffer.length < 1 + length) break;
      const message = buffer.subarray(0, 1 + length);
      buffer = buffer.subarray(1 + length);
      onMessage(String.fromCharCode(message[0]!), message);
    }
  };
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

const cstrings = (...values: string[]) => Buffer.concat(values.map((v) => Buffer.from(`${v}\0`)));

function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), ...Object.entries(params).map(([k, v]) => cstrings(k, v)), Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(4 + body.length);
  return Buffer.concat([length, body]);
}

interface Upstream {
  socket: Socket;
  pid: number;
  /** The client whose transaction this connection serves, if any. */
  owner: Socket | null;
}

export async function startTransactionPoolProxy(upstreamPort: number, { poolSize = 3 } = {}): Promise<TransactionPoolProxy> {
  const pools = new Map<string, Promise<Upstream[]>>();
  const sockets = new Set<Socket>();
  let next = 0;

  const openUpstream = (params: Record<string, string>, route: (upstream: Upstream, type: string, msg: Buffer) => void) =>
    new Promise<Upstream>((resolve, reject) => {
      const socket = connect(upstreamPort, '127.0.0.1');
      sockets.add(socket);
      const upstream: Upstream = { socket, pid: 0, owner: null };
      let ready = false;
      socket.on('error', reject);
      socket.on('connect', () => socket.write(startupMessage(params)));
      socket.on(
        'data',
        messageReader((type, msg) => {
          if (ready) return route(upstream, type, msg);
          if (type === 'K') upstream.pid = msg.readInt32BE(5);
          if (type === 'E') reject(new Error(`pool connection refused: ${msg.subarray(5).toString()}`));
          if (type === 'Z') {
            ready = true;
            resolve(upstream);
          }
        }),
      );
    });

  const route = (upstream: Upstream, type: string, msg: Buffer) => {
    upstream.owner?.write(msg);
    // Back to the pool at the end of each transaction, as pool_mode=transaction does.
    if (type === 'Z' && msg[5] === 'I'.charCodeAt(0)) upstream.owner = null;
  };

  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    let pool: Promise<Upstream[]> | undefined;
    let current: Upstream | null = null;
    const dispatch = async (type: string, msg: Buffer) => {
      const upstreams = await pool!;
      if (type === 'X') return void client.end();
      if (!current || current.owner !== client) {
        // The next free connection, round robin (busy ones are skipped; all busy: wait, bounded).
        current = null;
        for (let tries = 0; !current; tries++) {
          const candidate = upstreams[next++ % upstreams.length]!;
          if (candidate.owner === null) current = candidate;
          else if (tries > 1_000) return void client.destroy();
          else if (tries % upstreams.length === 0) await new Promise((r) => setTimeout(r, 5));
        }
        current.owner = client;
      }
      current.socket.write(msg);
    };
    let chain = Promise.resolve();
    const reader = messageReader((type, msg) => {
      chain = chain.then(() => dispatch(type, msg));
    });
    let startup = Buffer.alloc(0);
    const onStartup = (chunk: Buffer): void => {
      if (pool) return reader(chunk);
      startup = Buffer.concat([startup, chunk]);
      if (startup.length < 8 || startup.length < startup.readInt32BE(0)) return;
      const length = startup.readInt32BE(0);
      const code = startup.readInt32BE(4);
      const packet = startup.subarray(8, length);
      const rest = startup.subarray(length);
      startup = Buffer.alloc(0);
      if (code === 80877103 || code === 80877104) {
        // SSL or GSS encryption request: not offered.
        client.write('N');
        return rest.length > 0 ? onStartup(rest) : undefined;
      }
      const strings = packet.toString('utf8').split('\0');
      const params: Record<string, string> = {};
      for (let i = 0; i + 1 < strings.length && strings[i]; i += 2) params[strings[i]!] = strings[i + 1]!;
      const database = params.database ?? params.user!;
      const poolKey = `${params.user}/${database}`;
      if (!pools.has(poolKey)) {
        const upstreamParams = { user: params.user!, database, application_name: 'transaction pool', ...(params.options ? { options: params.options } : {}) };
        pools.set(poolKey, Promise.all(Array.from({ length: poolSize }, () => openUpstream(upstreamParams, route))));
      }
      pool = pools.get(poolKey)!;
      pool.then(
        () => {
          const cancelKey = Buffer.alloc(8);
          cancelKey.writeInt32BE(4242, 0);
          const status = [
            ['server_version', '15.0'],
            ['client_encoding', 'UTF8'],
            ['standard_conforming_strings', 'on'],
            ['integer_datetimes', 'on'],
            ['DateStyle', 'ISO, MDY'],
          ].map(([k, v]) => message('S', cstrings(k!, v!)));
          client.write(Buffer.concat([message('R', Buffer.alloc(4)), ...status, message('K', cancelKey), message('Z', Buffer.from('I'))]));
        },
        () => client.destroy(),
      );
      if (rest.length > 0) reader(rest);
    };
    client.on('data', onStartup);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    port,
    backendPids: async () => (await Promise.all(pools.values())).flat().map((u) => u.pid),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
