// IMAP listeners: cleartext with STARTTLS, and implicit TLS (RFC 8314). Each connection
// gets a Session; a socket error or a bug in one session never touches the others.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { Session, type Transport } from './session';
import type { ImapContext } from './context';
import { MailboxViews } from './mailbox-view';
import { InactivityWheel, type Watched } from './inactivity';

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

/** What every connection of one listener shares (one reference per connection instead of several). */
interface Host {
  ctx: ImapContext;
  views: MailboxViews;
  wheel: InactivityWheel;
  live: Set<Session>;
  secureContext: tls.SecureContext | undefined;
}

/** The transport of a socket, kept on the socket itself: the listeners below are shared by all. */
const OWNER = Symbol('memgate.imap.transport');
type Owned = net.Socket & { [OWNER]?: SocketTransport };

function onSocketData(this: Owned, chunk: Buffer): void {
  this[OWNER]?.received(chunk);
}

function onSocketError(this: Owned, err: Error): void {
  this[OWNER]?.host.ctx.log.debug({ err }, 'IMAP socket error');
}

function onSocketClose(this: Owned): void {
  this[OWNER]?.closed();
}

class SocketTransport implements Transport, Watched {
  tlsActive: boolean;
  session!: Session;
  /** Set once COMPRESS=DEFLATE is active: responses go through it. */
  private deflate: zlib.DeflateRaw | null = null;
  private flushScheduled = false;
  /** The socket as accepted: 'close' stays on it after STARTTLS. */
  private readonly accepted: net.Socket;
  // Inactivity (src/imap/inactivity.ts): any read or write counts as activity.
  lastActive: number;
  timeoutMs: number;
  wheelSlot = 0;
  wheelIndex = 0;

  constructor(
    private socket: net.Socket,
    readonly host: Host,
  ) {
    this.tlsActive = socket instanceof tls.TLSSocket;
    this.accepted = socket;
    this.lastActive = host.wheel.now;
    this.timeoutMs = host.ctx.limits.preauthTimeoutMs;
    (socket as Owned)[OWNER] = this;
  }

  get remoteAddress(): string {
    return this.accepted.remoteAddress ?? '';
  }

  get loopback(): boolean {
    return isLoopback(this.remoteAddress);
  }

  received(chunk: Buffer): void {
    this.lastActive = this.host.wheel.now;
    try {
      this.session.onData(chunk);
    } catch (err) {
      this.host.ctx.log.error({ err }, 'IMAP session failed while reading');
      this.session.send('* BYE Internal error');
      this.session.close();
    }
  }

  /** The inactivity limit passed. */
  expired(): void {
    this.session.send('* BYE Autologout: idle for too long');
    this.session.close();
  }

  closed(): void {
    this.host.wheel.unwatch(this);
    this.host.live.delete(this.session);
    this.session.close();
  }

  setInactivityTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.host.wheel.watch(this);
  }

  write(chunks: Array<string | Buffer>): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    this.lastActive = this.host.wheel.now;
    if (this.deflate) {
      for (const c of chunks) this.deflate.write(c);
      this.scheduleFlush();
      return;
    }
    if (chunks.length === 1) {
      socket.write(chunks[0]);
      return;
    }
    // One writev for a whole response instead of a syscall per chunk (TCP_NODELAY is on).
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
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
    socket.removeListener('data', onSocketData);
    socket.on('data', (chunk: Buffer) => inflate.write(chunk));
    inflate.on('data', (chunk: Buffer) => this.received(chunk));
    inflate.on('error', (err) => {
      this.host.ctx.log.debug({ err }, 'IMAP COMPRESS: undecodable input');
      socket.destroy();
    });
    deflate.on('data', (chunk: Buffer) => {
      if (!socket.destroyed) socket.write(chunk);
    });
    deflate.on('error', (err) => {
      this.host.ctx.log.warn({ err }, 'IMAP COMPRESS: deflate failed');
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
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.host.secureContext });
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', reject);
    });
    secure.removeAllListeners('error');
    secure.on('error', () => secure.destroy());
    (secure as Owned)[OWNER] = this;
    secure.on('data', onSocketData);
    this.socket = secure;
    this.tlsActive = true;
  }

  close(): void {
    this.host.wheel.unwatch(this);
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
  const host: Host = {
    ctx,
    views: new MailboxViews(ctx.store, ctx.bus, ctx.log),
    wheel: new InactivityWheel(),
    live,
    secureContext: ctx.tls ? tls.createSecureContext(ctx.tls) : undefined,
  };

  const attach = (socket: net.Socket): void => {
    socket.setNoDelay(true);
    const transport = new SocketTransport(socket, host);
    const session = new Session(ctx, transport, host.views);
    transport.session = session;
    live.add(session);
    host.wheel.watch(transport);
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
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
