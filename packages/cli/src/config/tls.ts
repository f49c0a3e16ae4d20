/**
 * TLS from a connection string, with libpq's meaning of `sslmode` (and
 * Prisma's `sslaccept`), turned into explicit node-postgres options.
 *
 * pg's own parsing of `sslmode` differs from libpq: it verifies the server
 * certificate for `require`, has no `prefer` fallback, and prints a multi-line
 * "SECURITY WARNING" on stderr (pg-connection-string). So the TLS parameters
 * are taken out of the URL pg sees and passed as `ssl` (and, for `prefer`,
 * as a socket that negotiates TLS itself).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { DigilogError } from '../errors.js';

/** libpq's sslmodes; `allow` is treated as `prefer` (both end up on TLS when the server has it). */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** The URL parameters that configure TLS; none of them reaches pg's parser. */
export const TLS_PARAMS = ['sslmode', 'sslaccept', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat'] as const;

/** What TLS a target asks for; `undefined` = the URL says nothing (pg's default: PGSSLMODE, else no TLS). */
export interface TlsSetting {
  mode: SslMode;
  /** Options for tls.connect (verification, CA, client certificate). */
  options: ConnectionOptions;
}

function readPem(param: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new DigilogError('config', `Cannot read the ${param} file ${path} from DATABASE_URL: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: `Fix the ${param}= path in the connection string.`,
      details: { param },
    });
  }
}

/**
 * How much of the server certificate is checked. libpq: prefer/require encrypt without verifying,
 * unless a root certificate is given (then require verifies the chain, as verify-ca); verify-ca
 * skips the host name, verify-full checks it. Prisma: sslaccept=strict verifies chain and host
 * name, accept_invalid_certs nothing; either overrides the mode's default.
 */
function verification(mode: SslMode, accept: string | null, hasRootCert: boolean): 'none' | 'ca' | 'full' {
  if (accept === 'strict') return 'full';
  if (accept === 'accept_invalid_certs') return 'none';
  if (mode === 'verify-full') return 'full';
  if (mode === 'verify-ca' || (mode === 'require' && hasRootCert)) return 'ca';
  return 'none';
}

/** Reads the TLS parameters of a parsed URL. Throws a `config` error for an unknown mode or an unreadable file. */
export function tlsSetting(params: URLSearchParams): TlsSetting | undefined {
  const rawMode = params.get('sslmode');
  const accept = params.get('sslaccept');
  if (rawMode === null && accept === null) return undefined;
  if (rawMode !== null && !MODES.includes(rawMode)) {
    throw new DigilogError('config', `Unknown sslmode "${rawMode}" in DATABASE_URL`, {
      hint: 'Use disable, prefer, require, verify-ca or verify-full.',
      details: { sslmode: rawMode },
    });
  }
  if (accept !== null && accept !== 'strict' && accept !== 'accept_invalid_certs') {
    throw new DigilogError('config', `Unknown sslaccept "${accept}" in DATABASE_URL`, {
      hint: 'Use strict or accept_invalid_certs.',
      details: { sslaccept: accept },
    });
  }
  // Prisma's default sslmode is prefer, also when only sslaccept is given.
  const mode: SslMode = rawMode === 'allow' || rawMode === null ? 'prefer' : rawMode === 'no-verify' ? 'require' : (rawMode as SslMode);
  const options: ConnectionOptions = {};
  const cert = params.get('sslcert');
  const key = params.get('sslkey');
  // Prisma's `sslcert` is the server's root certificate (its client identity is `sslidentity`);
  // libpq's is a client certificate, useless without `sslkey`. Alone, it is read as Prisma means it.
  const rootCert = params.get('sslrootcert') ?? (cert && !key ? cert : null);
  if (rootCert && rootCert !== 'system') options.ca = readPem(params.has('sslrootcert') ? 'sslrootcert' : 'sslcert', rootCert);
  if (cert && key) {
    options.cert = readPem('sslcert', cert);
    options.key = readPem('sslkey', key);
  }
  const verify = verification(mode, accept, rootCert !== null);
  if (verify === 'none') options.rejectUnauthorized = false;
  if (verify === 'ca') options.checkServerIdentity = () => undefined;
  return { mode, options };
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A socket for pg (its `stream` option) that does libpq's `prefer`: it sends
 * the SSLRequest itself and continues over TLS on 'S', in plaintext on 'N'.
 * pg is configured without TLS and talks through it as through a plain socket.
 */
export class PreferTlsSocket extends Duplex {
  private inner: Socket | undefined;
  private current: Duplex | undefined;
  private noDelay = false;
  private keepAlive: [boolean, number] | undefined;

  constructor(private readonly options: ConnectionOptions) {
    super();
  }

  connect(port: number, host: string): this {
    const socket = netConnect(port, host);
    this.inner = socket;
    socket.setNoDelay(this.noDelay);
    if (this.keepAlive) socket.setKeepAlive(...this.keepAlive);
    // Kept for the socket's whole life: under TLS its errors are ours too.
    socket.on('error', (error) => this.destroy(error));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (reply) => {
      if (reply[0] === 0x4e /* N */ && reply.length === 1) return this.attach(socket);
      if (reply[0] !== 0x53 /* S */ || reply.length !== 1) return this.destroy(new Error('There was an error establishing an SSL connection'));
      const secure = tlsConnect({ ...this.options, socket, host, ...(isIP(host) === 0 ? { servername: host } : {}) });
      secure.once('error', (error) => this.destroy(error));
      secure.once('secureConnect', () => {
        secure.removeAllListeners('error');
        this.attach(secure);
      });
    });
    return this;
  }

  private attach(stream: Duplex): void {
    this.current = stream;
    stream.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stream.pause();
    });
    stream.on('end', () => this.push(null));
    stream.on('error', (error) => this.destroy(error));
    stream.on('close', () => this.destroy());
    this.emit('connect');
  }

  override _read(): void {
    this.current?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.current) return callback(new Error('Connection not established'));
    this.current.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.current) this.current.end(callback);
    else callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.current?.destroy();
    this.inner?.destroy();
    callback(error);
  }

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    this.inner?.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = [enable, initialDelay];
    this.inner?.setKeepAlive(enable, initialDelay);
    return this;
  }
}

/** node-postgres options for a TLS setting: `ssl`, plus the negotiating socket for `prefer`. */
export function pgTlsOptions(tls: TlsSetting | undefined): { ssl?: false | ConnectionOptions; stream?: () => Duplex } {
  if (!tls) return {};
  if (tls.mode === 'disable') return { ssl: false };
  if (tls.mode === 'prefer') return { ssl: false, stream: () => new PreferTlsSocket(tls.options) };
  return { ssl: { ...tls.options } };
}
