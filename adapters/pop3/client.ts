// A small POP3 client (RFC 1939, CAPA/RESP-CODES/LOGIN-DELAY from RFC 2449, STLS from
// RFC 2595) that keeps message bytes as bytes: RETR and TOP resolve to Buffers, dot-unstuffed,
// so 8-bit messages arrive exactly as the server stores them. Every wait has a timeout, so
// a stalled server becomes an error instead of a hung sync.
import net from 'node:net';
import tls from 'node:tls';
import { AdapterError, type TrafficStats } from '../contract';

export interface Pop3ConnectOptions {
  host: string;
  port: number;
  /** 'tls': implicit TLS (pop3s); 'starttls': STLS after CAPA; 'none': plaintext. */
  security: 'tls' | 'starttls' | 'none';
  /** Accept a certificate that does not verify (test servers, self-signed). */
  insecure?: boolean;
  /**
   * PEM certificates to trust instead of the system's CAs: an ISP's own CA, or a
   * self-signed server certificate itself. The host name is still checked.
   */
  caPem?: string;
  /** Accept exactly the certificate with this SHA-256 fingerprint (hex, colons optional), whoever signed it. */
  fingerprint256?: string;
  /** The name the certificate must carry, when it is not `host` (a server reached by IP address). */
  servername?: string;
  /** Milliseconds without any byte from the server before the session counts as stalled. */
  timeoutMs?: number;
  stats?: TrafficStats;
}

export interface Pop3Capabilities {
  names: Set<string>;
  /** LOGIN-DELAY seconds (RFC 2449 6.5), when announced. */
  loginDelay?: number;
  /** LOGIN-DELAY n USER: the value may differ per user; CAPA after login tells (RFC 2449 6.5). */
  loginDelayPerUser?: boolean;
}

interface Pending {
  multiline: boolean;
  resolve: (reply: Pop3Reply) => void;
  reject: (err: Error) => void;
}

export interface Pop3Reply {
  ok: boolean;
  /** The status line after +OK / -ERR. */
  text: string;
  /** Multi-line body, dot-unstuffed, CRLF line ends kept (absent for single-line replies). */
  body?: Buffer;
}

const TERMINATOR = Buffer.from('\r\n.\r\n');

/** The last bytes that could begin a terminator continued in the next chunk (a copy). */
function tailOf(b: Buffer): Buffer {
  return Buffer.from(b.subarray(Math.max(0, b.length - (TERMINATOR.length - 1))));
}

/** RFC 2449 8: the response code in brackets at the start of a -ERR text. */
export function responseCode(text: string): string | null {
  const m = /^\[([A-Z0-9/-]+)\]/i.exec(text);
  return m ? m[1].toUpperCase() : null;
}

/** Removes the dot a server put before every line that starts with one (RFC 1939 3). */
export function dotUnstuff(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (body.length > 0 && body[0] === 0x2e) start = 1;
  for (;;) {
    const at = body.indexOf('\r\n.', start);
    if (at < 0) break;
    parts.push(body.subarray(start, at + 2));
    start = at + 3;
  }
  parts.push(body.subarray(start));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

export class Pop3Client {
  private socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  /** Where the scan for the terminator resumes (bytes before it cannot end a reply). */
  private scanFrom = 0;
  /**
   * Chunks of a long multi-line reply whose end has not come yet: kept aside and joined
   * once, so a 20 MB message costs one copy instead of one per 64 KB chunk.
   */
  private incoming: Buffer[] = [];
  /** The last bytes received (a terminator may straddle two chunks). */
  private seam: Buffer = Buffer.alloc(0);
  private readonly queue: Pending[] = [];
  private closedError: Error | null = null;
  private readonly timeoutMs: number;
  private readonly stats: TrafficStats;
  capabilities: Pop3Capabilities = { names: new Set() };

  private constructor(socket: net.Socket, timeoutMs: number, stats: TrafficStats) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.stats = stats;
    this.attach(socket);
  }

  /** Connects, reads the greeting, CAPA, STLS when asked. Does not log in. */
  static async connect(opts: Pop3ConnectOptions): Promise<Pop3Client> {
    const timeoutMs = opts.timeoutMs ?? 30000;
    const stats = opts.stats ?? { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
    const socket = await openSocket(opts, timeoutMs);
    stats.connections++;
    const client = new Pop3Client(socket, timeoutMs, stats);
    const greeting = await client.expect(false);
    if (!greeting.ok) {
      client.abort();
      const code = responseCode(greeting.text);
      throw new AdapterError(code === 'IN-USE' ? 'in-use' : 'unavailable', `POP3 server refused the connection: ${greeting.text}`);
    }
    await client.capa();
    if (opts.security === 'starttls') {
      if (!client.capabilities.names.has('STLS')) {
        client.abort();
        throw new AdapterError('unsupported', 'POP3 server does not offer STLS (RFC 2595)');
      }
      const reply = await client.command('STLS');
      if (!reply.ok) {
        client.abort();
        throw new AdapterError('unavailable', `STLS refused: ${reply.text}`);
      }
      await client.upgrade(opts);
      await client.capa();
    }
    return client;
  }

  /** CAPA (RFC 2449); a server without it simply has no announced capabilities. */
  private async capa(): Promise<void> {
    const reply = await this.send('CAPA', true);
    const names = new Set<string>();
    let loginDelay: number | undefined;
    let loginDelayPerUser = false;
    if (reply.ok && reply.body) {
      for (const line of reply.body.toString('latin1').split('\r\n')) {
        const [name, ...args] = line.trim().split(/\s+/);
        if (!name) continue;
        names.add(name.toUpperCase());
        if (name.toUpperCase() === 'LOGIN-DELAY' && /^\d+$/.test(args[0] ?? '')) {
          loginDelay = Number(args[0]);
          loginDelayPerUser = args[1]?.toUpperCase() === 'USER';
        }
      }
    }
    this.capabilities = { names, loginDelay, loginDelayPerUser };
  }

  private async upgrade(opts: Pop3ConnectOptions): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.setTimeout(0);
    const timeoutMs = opts.timeoutMs ?? 30000;
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, ...tlsOptions(opts) });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new AdapterError('unavailable', `TLS handshake after STLS did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        const wrong = pinMismatch(s, opts);
        if (wrong) {
          s.destroy();
          reject(wrong);
        } else resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new AdapterError('unavailable', `TLS handshake failed: ${tlsHint(err)}`, { cause: err }));
      });
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** USER/PASS. Maps -ERR to auth, in-use or unavailable (RFC 2449 response codes). */
  async login(user: string, password: string): Promise<void> {
    if (/[\r\n]/.test(user) || /[\r\n]/.test(password)) throw new AdapterError('auth', 'user name or password contains a line break');
    const u = await this.command(`USER ${user}`);
    if (!u.ok) throw loginError(u.text, this.capabilities);
    const p = await this.command(`PASS ${password}`);
    if (!p.ok) throw loginError(p.text, this.capabilities);
    // RFC 2449 6.5: "LOGIN-DELAY n USER" before login; this user's own value comes after it.
    if (this.capabilities.loginDelayPerUser) await this.capa();
  }

  /** UIDL listing in maildrop order: [message number, unique id]. */
  async uidl(): Promise<Array<{ n: number; uid: string }>> {
    const reply = await this.command('UIDL', true);
    if (!reply.ok) throw new AdapterError('unsupported', `POP3 server does not support UIDL (${reply.text}); memgate needs stable message ids`);
    return parseListing(reply.body!).map(([n, uid]) => ({ n, uid }));
  }

  /** LIST: message number -> size in octets. */
  async list(): Promise<Map<number, number>> {
    const reply = await this.command('LIST', true);
    if (!reply.ok) throw new AdapterError('protocol', `LIST failed: ${reply.text}`);
    const sizes = new Map<number, number>();
    for (const [n, size] of parseListing(reply.body!)) {
      if (!/^\d+$/.test(size)) throw new AdapterError('protocol', `LIST gave a bad size for message ${n}`);
      sizes.set(n, Number(size));
    }
    return sizes;
  }

  async retr(n: number): Promise<Buffer> {
    const reply = await this.command(`RETR ${n}`, true);
    if (!reply.ok) throw new AdapterError('gone', `RETR ${n} failed: ${reply.text}`);
    return reply.body!;
  }

  /** RETR of several messages; pipelined when the server announces PIPELINING (RFC 2449 6.6). */
  retrMany(numbers: readonly number[], onMessage: (n: number, raw: Buffer) => Promise<void>): Promise<void> {
    return this.pipelined(numbers, (n) => `RETR ${n}`, onMessage);
  }

  /** TOP n 0 of several messages: header sections (RFC 1939 7), pipelined like retrMany. */
  topMany(numbers: readonly number[], onHeader: (n: number, header: Buffer) => Promise<void>): Promise<void> {
    return this.pipelined(numbers, (n) => `TOP ${n} 0`, onHeader);
  }

  /** The server lists TOP in CAPA, or announced no capabilities at all (TOP is optional). */
  get hasTop(): boolean {
    return this.capabilities.names.size === 0 || this.capabilities.names.has('TOP');
  }

  private async pipelined(numbers: readonly number[], line: (n: number) => string, onReply: (n: number, body: Buffer) => Promise<void>): Promise<void> {
    const window = this.capabilities.names.has('PIPELINING') ? 8 : 1;
    const inFlight: Array<Promise<Pop3Reply>> = [];
    let next = 0;
    const issue = () => {
      const p = this.send(line(numbers[next++]), true);
      p.catch(() => undefined);
      inFlight.push(p);
    };
    while (next < numbers.length && inFlight.length < window) issue();
    for (let i = 0; i < numbers.length; i++) {
      const reply = await inFlight.shift()!;
      if (next < numbers.length) issue();
      if (!reply.ok) throw new AdapterError('gone', `${line(numbers[i])} failed: ${reply.text}`);
      await onReply(numbers[i], reply.body!);
    }
  }

  async top(n: number, lines: number): Promise<Buffer> {
    const reply = await this.command(`TOP ${n} ${lines}`, true);
    if (!reply.ok) throw new AdapterError('protocol', `TOP ${n} ${lines} failed: ${reply.text}`);
    return reply.body!;
  }

  async dele(n: number): Promise<boolean> {
    return (await this.command(`DELE ${n}`)).ok;
  }

  /** QUIT: the server commits DELEs (UPDATE state). A failure here means they were not. */
  async quit(): Promise<void> {
    const reply = await this.command('QUIT');
    this.socket.end();
    if (!reply.ok) throw new AdapterError('unavailable', `QUIT failed, deletions not committed: ${reply.text}`);
  }

  abort(): void {
    this.fail(new AdapterError('unavailable', 'session aborted'));
    this.socket.destroy();
  }

  command(line: string, multiline = false): Promise<Pop3Reply> {
    return this.send(line, multiline);
  }

  // --- plumbing ---

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.stats.bytesIn += chunk.length;
      if (this.incoming.length > 0 || this.awaitingTerminator()) {
        // Inside a long reply: join only once its terminator has arrived.
        const found = chunk.indexOf(TERMINATOR) >= 0 || Buffer.concat([this.seam, chunk.subarray(0, TERMINATOR.length - 1)]).indexOf(TERMINATOR) >= 0;
        this.incoming.push(chunk);
        this.seam = tailOf(Buffer.concat([this.seam, tailOf(chunk)]));
        if (!found) return;
        this.buffer = Buffer.concat([this.buffer, ...this.incoming]);
        this.incoming = [];
        this.drain();
        return;
      }
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.seam = tailOf(this.buffer);
      this.drain();
    });
    socket.setTimeout(this.timeoutMs, () => {
      if (this.queue.length > 0) {
        this.fail(new AdapterError('unavailable', `POP3 server stalled (no data for ${this.timeoutMs} ms)`));
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(new AdapterError('unavailable', `POP3 connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new AdapterError('unavailable', 'POP3 server closed the connection')));
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  /** Waits for the next reply (the greeting) without sending anything. */
  private expect(multiline: boolean): Promise<Pop3Reply> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.queue.push({ multiline, resolve, reject });
      this.drain();
    });
  }

  /** A multi-line command's -ERR reply is one line (RFC 1939 3), which drain() knows. */
  private send(line: string, multiline: boolean): Promise<Pop3Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    const promise = new Promise<Pop3Reply>((resolve, reject) => this.queue.push({ multiline, resolve, reject }));
    const data = `${line}\r\n`;
    this.stats.commands++;
    this.stats.bytesOut += data.length;
    this.socket.write(data);
    return promise;
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const status = this.buffer.subarray(0, eol).toString('latin1');
      const ok = status.startsWith('+OK');
      if (!ok && !status.startsWith('-ERR')) {
        this.fail(new AdapterError('protocol', `unexpected POP3 reply: ${status.slice(0, 100)}`));
        this.socket.destroy();
        return;
      }
      const text = status.replace(/^(\+OK|-ERR) ?/, '');
      if (!head.multiline || !ok) {
        this.consume(eol + 2);
        this.queue.shift();
        head.resolve({ ok, text });
        continue;
      }
      // A multi-line body ends with CRLF.CRLF; an empty one is just ".\r\n" after the status.
      const bodyStart = eol + 2;
      if (this.buffer.length >= bodyStart + 3 && this.buffer.subarray(bodyStart, bodyStart + 3).toString('latin1') === '.\r\n') {
        this.consume(bodyStart + 3);
        this.queue.shift();
        head.resolve({ ok, text, body: Buffer.alloc(0) });
        continue;
      }
      const from = Math.max(bodyStart - 2, this.scanFrom);
      const end = this.buffer.indexOf(TERMINATOR, from);
      if (end < 0) {
        this.scanFrom = Math.max(bodyStart - 2, this.buffer.length - TERMINATOR.length + 1);
        return;
      }
      const body = dotUnstuff(this.buffer.subarray(bodyStart, end + 2));
      this.consume(end + TERMINATOR.length);
      this.queue.shift();
      head.resolve({ ok, text, body: Buffer.from(body) });
    }
  }

  /** drain() stopped in a multi-line body: the bytes so far hold no terminator. */
  private awaitingTerminator(): boolean {
    return this.scanFrom > 0 && this.buffer.length >= 64 * 1024;
  }

  private consume(n: number): void {
    this.buffer = this.buffer.subarray(n);
    this.scanFrom = 0;
  }
}

function loginError(text: string, caps: Pop3Capabilities): AdapterError {
  const code = responseCode(text);
  if (code === 'IN-USE') return new AdapterError('in-use', `maildrop in use: ${text}`, { retryAfterSeconds: caps.loginDelay });
  if (code === 'LOGIN-DELAY') return new AdapterError('unavailable', `login too soon: ${text}`, { retryAfterSeconds: caps.loginDelay ?? 60 });
  if (code === 'SYS/TEMP') return new AdapterError('unavailable', `server trouble: ${text}`);
  return new AdapterError('auth', `login rejected: ${text}`);
}

function parseListing(body: Buffer): Array<[number, string]> {
  const rows: Array<[number, string]> = [];
  for (const line of body.toString('latin1').split('\r\n')) {
    if (line === '') continue;
    const m = /^(\d+) +(\S+)/.exec(line);
    if (!m) throw new AdapterError('protocol', `bad listing line: ${line.slice(0, 80)}`);
    rows.push([Number(m[1]), m[2]]);
  }
  return rows;
}

/**
 * How the server's certificate is judged: by the system's CAs (default) or the given ones,
 * with the host name (or `servername`) checked; by its fingerprint alone when one is
 * pinned; not at all with `insecure`.
 */
function tlsOptions(opts: Pop3ConnectOptions): tls.ConnectionOptions {
  const name = opts.servername ?? opts.host;
  return {
    // The identity checked is `name` (for STLS too, where the socket is already open).
    host: opts.host,
    servername: net.isIP(name) ? undefined : name,
    rejectUnauthorized: !opts.insecure && !opts.fingerprint256,
    ...(opts.caPem ? { ca: opts.caPem } : {}),
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert),
  };
}

/** With a pinned fingerprint: an error unless the server's certificate is that one. */
function pinMismatch(socket: tls.TLSSocket, opts: Pop3ConnectOptions): AdapterError | null {
  if (!opts.fingerprint256 || opts.insecure) return null;
  const norm = (s: string) => s.replace(/:/g, '').toUpperCase();
  const got = socket.getPeerCertificate().fingerprint256 ?? '';
  if (norm(got) === norm(opts.fingerprint256)) return null;
  return new AdapterError('unavailable', `the POP3 server's certificate (SHA-256 ${got}) is not the pinned one`);
}

/** A certificate that does not verify: say how an operator makes it verify. */
function tlsHint(err: Error): string {
  const code = (err as { code?: unknown }).code;
  const certificate = typeof code === 'string' && /CERT|SELF_SIGNED|HOSTNAME|ALTNAME|ISSUER/.test(code);
  return certificate ? `${err.message} (trust its CA with --ca-file, pin it with --tls-fingerprint, or name it with --tls-servername)` : err.message;
}

function openSocket(opts: Pop3ConnectOptions, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      socket.destroy();
      reject(err instanceof AdapterError ? err : new AdapterError('unavailable', `cannot connect to ${opts.host}:${opts.port}: ${tlsHint(err)}`, { cause: err }));
    };
    const socket: net.Socket =
      opts.security === 'tls'
        ? tls.connect({ host: opts.host, port: opts.port, ...tlsOptions(opts) }, () => done())
        : net.connect({ host: opts.host, port: opts.port }, () => done());
    const timer = setTimeout(() => onError(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.off('error', onErr);
      const wrong = socket instanceof tls.TLSSocket ? pinMismatch(socket, opts) : null;
      if (wrong) onError(wrong);
      else resolve(socket);
    };
    const onErr = (err: Error) => {
      clearTimeout(timer);
      onError(err);
    };
    socket.once('error', onErr);
  });
}
