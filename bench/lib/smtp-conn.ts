// A small SMTP client for benchmarks: raw socket, whole replies, and byte counts in both
// directions (what a phone would pay for on the radio). Commands go one at a time.
import net from 'node:net';

export class SmtpConn {
  bytesIn = 0;
  bytesOut = 0;
  private buffer = '';
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.bytesIn += d.length;
      this.buffer += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<{ conn: SmtpConn; greeting: string }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const conn = new SmtpConn(socket);
    return { conn, greeting: await conn.reply() };
  }

  /** The next complete reply (every `NNN-` line and the final `NNN `). */
  async reply(): Promise<string> {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0];
      }
      if (this.closed) throw new Error(`SMTP connection closed; pending: ${JSON.stringify(this.buffer.slice(0, 200))}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  write(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.bytesOut += b.length;
    this.socket.write(b);
  }

  /** Sends one command line; throws unless the reply starts with `expect`. */
  async command(line: string, expect = '2'): Promise<string> {
    this.write(line + '\r\n');
    const r = await this.reply();
    if (!r.startsWith(expect)) throw new Error(`${line.slice(0, 60)}: ${r.trim()}`);
    return r;
  }

  async login(user: string, password: string): Promise<void> {
    await this.command('EHLO bench.test');
    await this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`, '235');
  }

  /** MAIL, RCPT, DATA with dot-stuffing; resolves with the final reply. */
  async sendMessage(from: string, to: string[], raw: Buffer): Promise<string> {
    await this.command(`MAIL FROM:<${from}>`);
    for (const r of to) await this.command(`RCPT TO:<${r}>`);
    await this.command('DATA', '354');
    this.write(dotStuff(raw));
    this.write(raw.length > 0 && raw[raw.length - 1] === 0x0a ? '.\r\n' : '\r\n.\r\n');
    const r = await this.reply();
    if (!r.startsWith('250')) throw new Error(`DATA: ${r.trim()}`);
    return r;
  }

  async quit(): Promise<void> {
    if (this.closed) return;
    this.write('QUIT\r\n');
    await this.reply().catch(() => undefined);
    this.socket.destroy();
  }
}

/** RFC 5321 4.5.2: a line that starts with "." gets one more. */
export function dotStuff(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let lineStart = 0;
  for (let i = 0; i <= raw.length; i++) {
    if (i === lineStart && i < raw.length && raw[i] === 0x2e) {
      parts.push(raw.subarray(from, i), Buffer.from('.'));
      from = i;
    }
    if (i < raw.length && raw[i] === 0x0a) lineStart = i + 1;
  }
  parts.push(raw.subarray(from));
  return Buffer.concat(parts);
}
