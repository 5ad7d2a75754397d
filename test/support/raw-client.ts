// A deliberately dumb IMAP client for exact-byte conversations in tests: it sends what
// it is told and collects what comes back, so tests can assert the server's own bytes.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';

/** Drops `\Recent` inside FLAGS lists and `* n RECENT` lines (idempotent). */
function stripRecent(buffer: Buffer): Buffer {
  const text = buffer.toString('latin1');
  if (!/\\Recent|RECENT\r\n/.test(text)) return buffer;
  const out = text
    .replace(/^\* \d+ RECENT\r\n/gm, '')
    .replace(/\(\\Recent\)/g, '()')
    .replace(/\\Recent /g, '')
    .replace(/ \\Recent(?=[ )])/g, '');
  return Buffer.from(out, 'latin1');
}

export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  /** Bytes as they crossed the socket (compressed ones once compress() ran). */
  wireBytesIn = 0;
  wireBytesOut = 0;
  private deflate: zlib.DeflateRaw | null = null;

  private constructor(
    private socket: net.Socket,
    private readonly keepRecent: boolean,
  ) {
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.wireBytesIn += chunk.length;
      this.received(chunk);
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private received(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.keepRecent) this.buffer = stripRecent(this.buffer);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * `keepRecent: false` (the default) removes IMAP4rev1's \Recent flag and `* n RECENT`
   * lines, whose values depend on which session saw a message first, so tests about other
   * behaviour can compare exact bytes; the \Recent tests keep them.
   */
  static async connect(port: number, opts: { tls?: boolean; host?: string; keepRecent?: boolean } = {}): Promise<RawClient> {
    const host = opts.host ?? '127.0.0.1';
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ host, port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new RawClient(socket, opts.keepRecent === true);
    await client.readLine();
    return client;
  }

  /** Upgrades this connection after a tagged OK to STARTTLS. */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: this.socket, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /**
   * Sends COMPRESS DEFLATE (RFC 4978) and, after a tagged OK, deflates what it writes and
   * inflates what it reads, flushing after each write. Returns the server's answer.
   */
  async compress(tag = 'z'): Promise<string> {
    const answer = await this.command(tag, 'COMPRESS DEFLATE');
    if (!new RegExp(`^${tag} OK`, 'm').test(answer)) return answer;
    const early = this.buffer;
    this.buffer = Buffer.alloc(0);
    const inflate = zlib.createInflateRaw();
    inflate.on('data', (chunk: Buffer) => this.received(chunk));
    inflate.on('error', () => this.socket.destroy());
    // Inflating is asynchronous: the connection counts as closed only once everything that
    // arrived before the close has been inflated (LOGOUT's answer, say).
    inflate.on('end', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.removeAllListeners('close');
    this.socket.on('close', () => inflate.end());
    this.socket.removeAllListeners('data');
    this.socket.on('data', (chunk: Buffer) => {
      this.wireBytesIn += chunk.length;
      inflate.write(chunk);
    });
    if (early.length > 0) inflate.write(early);
    const deflate = zlib.createDeflateRaw();
    deflate.on('data', (chunk: Buffer) => {
      this.wireBytesOut += chunk.length;
      this.socket.write(chunk);
    });
    this.deflate = deflate;
    return answer;
  }

  write(data: string | Buffer): void {
    if (this.deflate) {
      this.deflate.write(data);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
      return;
    }
    this.wireBytesOut += Buffer.byteLength(data);
    this.socket.write(data);
  }

  /** Waits until `predicate` finds what it needs in the received bytes, or times out. */
  async waitFor(predicate: (text: string) => boolean, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.buffer.toString('latin1'))) {
      if (this.closed) throw new Error(`connection closed; received so far:\n${this.buffer.toString('latin1')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received so far:\n${this.buffer.toString('latin1')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.buffer.toString('latin1');
  }

  /** Reads one line (without CRLF). */
  async readLine(timeoutMs?: number): Promise<string> {
    await this.waitFor((t) => t.includes('\r\n'), timeoutMs);
    const i = this.buffer.indexOf('\r\n');
    const line = this.buffer.subarray(0, i).toString('latin1');
    this.buffer = this.buffer.subarray(i + 2);
    return line;
  }

  /** Sends `tag command` and returns every byte up to and including the tagged response. */
  async command(tag: string, command: string | Buffer, timeoutMs?: number): Promise<string> {
    this.write(Buffer.concat([Buffer.from(`${tag} `), Buffer.from(command), Buffer.from('\r\n')]));
    return this.untilTagged(tag, timeoutMs);
  }

  /** Consumes the received bytes up to the tagged response of `tag`. */
  async untilTagged(tag: string, timeoutMs?: number): Promise<string> {
    const re = new RegExp(`(^|\\r\\n)${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (OK|NO|BAD)[^\\r\\n]*\\r\\n`);
    const text = await this.waitFor((t) => re.test(t), timeoutMs);
    const m = re.exec(text)!;
    const end = m.index + m[0].length;
    const out = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end);
    return out.toString('latin1');
  }

  /** Bytes received and not consumed yet. */
  pending(): string {
    return this.buffer.toString('latin1');
  }

  drain(): string {
    const text = this.buffer.toString('latin1');
    this.buffer = Buffer.alloc(0);
    return text;
  }

  close(): void {
    this.socket.destroy();
  }
}
