// IMAP listeners: cleartext with STARTTLS, and implicit TLS (RFC 8314). Each connection
// gets a Session; a socket error or a bug in one session never touches the others.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { Session, type Transport } from './session';
import type { ImapContext } from './context';
import { MailboxViews } from './mailbox-view';

export interface ImapServerOptions {
  host: string;
  /** Cleartext + STARTTLS port; null disables it, 0 binds a free (ephemeral) port. */
  port: number | null;
  /** Implicit TLS port; null disables it, 0 binds a free port. */
  tlsPort: number | null;
}

export interface ListeningImap {
  /** Actual ports bound (useful with ephemeral ports); null when disabled. */
  port: number | null;
  tlsPort: number | null;
  sessions(): number;
  /** Stops accepting, says BYE to every client, closes. */
  close(): Promise<void>;
}

class SocketTransport implements Transport {
  tlsActive: boolean;
  readonly loopback: boolean;
  readonly remoteAddress: string;
  /** Set once COMPRESS=DEFLATE is active: responses go through it. */
  private deflate: zlib.DeflateRaw | null = null;
  private flushScheduled = false;

  constructor(
    private socket: net.Socket,
    private readonly ctx: ImapContext,
    private readonly onData: (chunk: Buffer) => void,
    private readonly secureContext: tls.SecureContext | undefined,
  ) {
    this.tlsActive = socket instanceof tls.TLSSocket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.loopback = isLoopback(this.remoteAddress);
    this.accepted = socket;
  }

  /** The socket as accepted: its inactivity timer (and handler) stays on it after STARTTLS. */
  private readonly accepted: net.Socket;

  setInactivityTimeout(ms: number): void {
    this.accepted.setTimeout(ms);
  }

  write(chunks: Array<string | Buffer>): void {
    if (this.socket.destroyed) return;
    if (this.deflate) {
      for (const c of chunks) this.deflate.write(c);
      this.scheduleFlush();
      return;
    }
    // One writev for a whole response instead of a syscall per chunk (TCP_NODELAY is on).
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  get compressionActive(): boolean {
    return this.deflate !== null;
  }

  /**
   * RFC 4978 4: raw DEFLATE (no zlib header) both ways, starting right after the tagged OK
   * that the caller has already written. The session keeps reading and writing plain
   * IMAP; this transport inflates what comes in and deflates what goes out, on top of
   * TLS when STARTTLS or implicit TLS is active.
   */
  startCompression(): void {
    if (this.deflate) return;
    const socket = this.socket;
    const inflate = zlib.createInflateRaw();
    const deflate = zlib.createDeflateRaw();
    socket.removeListener('data', this.onData);
    socket.on('data', (chunk: Buffer) => inflate.write(chunk));
    inflate.on('data', this.onData);
    inflate.on('error', (err) => {
      this.ctx.log.debug({ err }, 'IMAP COMPRESS: undecodable input');
      socket.destroy();
    });
    deflate.on('data', (chunk: Buffer) => {
      if (!socket.destroyed) socket.write(chunk);
    });
    deflate.on('error', (err) => {
      this.ctx.log.warn({ err }, 'IMAP COMPRESS: deflate failed');
      socket.destroy();
    });
    socket.once('close', () => {
      inflate.destroy();
      deflate.destroy();
    });
    this.deflate = deflate;
  }

  /**
   * Everything written in one turn of the event loop (a command's responses, an IDLE
   * update) goes out with one Z_SYNC_FLUSH, so nothing waits in the compressor for more
   * data (RFC 4978 4 asks for a flush at the end of each response batch).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.deflate && !this.deflate.destroyed) this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    });
  }

  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.secureContext });
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', reject);
    });
    secure.removeAllListeners('error');
    secure.on('error', () => secure.destroy());
    secure.on('data', this.onData);
    this.socket = secure;
    this.tlsActive = true;
  }

  close(): void {
    const deflate = this.deflate;
    if (deflate && !deflate.destroyed) {
      // The last responses (BYE, LOGOUT's OK) leave the compressor before the socket ends.
      deflate.once('end', () => this.socket.end());
      deflate.end();
    } else this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export async function startImapServer(ctx: ImapContext, opts: ImapServerOptions): Promise<ListeningImap> {
  const live = new Set<Session>();
  const views = new MailboxViews(ctx.store, ctx.bus, ctx.log);
  const secureContext = ctx.tls ? tls.createSecureContext(ctx.tls) : undefined;

  const attach = (socket: net.Socket): void => {
    socket.setNoDelay(true);
    let session: Session;
    const onData = (chunk: Buffer): void => {
      try {
        session.onData(chunk);
      } catch (err) {
        ctx.log.error({ err }, 'IMAP session failed while reading');
        session.send('* BYE Internal error');
        session.close();
      }
    };
    const transport = new SocketTransport(socket, ctx, onData, secureContext);
    session = new Session(ctx, transport, views);
    live.add(session);
    const timeout = (): void => {
      session.send('* BYE Autologout: idle for too long');
      session.close();
    };
    socket.setTimeout(ctx.limits.preauthTimeoutMs, timeout);
    socket.on('data', onData);
    socket.on('error', (err) => ctx.log.debug({ err }, 'IMAP socket error'));
    socket.on('close', () => {
      live.delete(session);
      session.close();
    });
    session.greet();
  };

  const servers: net.Server[] = [];
  const listen = (server: net.Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.removeListener('error', reject);
        servers.push(server);
        resolve((server.address() as net.AddressInfo).port);
      });
    });

  let port: number | null = null;
  let tlsPort: number | null = null;
  if (opts.port !== null) port = await listen(net.createServer(attach), opts.port);
  if (ctx.tls && opts.tlsPort !== null) {
    const server = tls.createServer({ cert: ctx.tls.cert, key: ctx.tls.key }, attach);
    server.on('tlsClientError', (err) => ctx.log.debug({ err }, 'TLS handshake failed'));
    tlsPort = await listen(server, opts.tlsPort);
  }

  return {
    port,
    tlsPort,
    sessions: () => live.size,
    async close() {
      for (const s of live) {
        s.send('* BYE memgate shutting down');
        s.close();
      }
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
