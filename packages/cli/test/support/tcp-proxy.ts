/**
 * A loopback TCP proxy the test controls, between a runner and PostgreSQL, to cut the
 * network mid-run: `blackhole` drops every byte but keeps both connections open (a silent
 * cut: nothing tells either side), `reset` destroys both sides (the peer sees the close).
 * Listens on 127.0.0.1 only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Silent cut: from now on nothing is forwarded in either direction, and new connections hang. */
  blackhole(): void;
  /** Loud cut: every connection is destroyed (the client sees a reset, the server a closed socket). */
  reset(): void;
  /** Closes the server-side sockets only (as the server's own keepalive would after a cut). */
  closeUpstreams(): void;
  close(): Promise<void>;
}

export function startTcpProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxy> {
  let silent = false;
  let accepted = 0;
  const pairs: Array<{ client: Socket; upstream: Socket }> = [];
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect(upstreamPort, upstreamHost);
    pairs.push({ client, upstream });
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!silent && !to.destroyed) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    // A close is forwarded only while the network is up: after a silent cut nobody learns anything.
    client.on('close', () => !silent && upstream.destroy());
    upstream.on('close', () => !silent && client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        port,
        accepted: () => accepted,
        blackhole: () => {
          silent = true;
        },
        reset: () => {
          for (const { client, upstream } of pairs) {
            client.resetAndDestroy();
            upstream.destroy();
          }
        },
        closeUpstreams: () => {
          for (const { upstream } of pairs) upstream.destroy();
        },
        close: () =>
          new Promise<void>((resolveClose) => {
            for (const { client, upstream } of pairs) {
              client.destroy();
              upstream.destroy();
            }
            server.close(() => resolveClose());
          }),
      });
    });
  });
}
