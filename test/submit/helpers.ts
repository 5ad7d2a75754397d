// Submission test support: an SMTP sink on loopback (the relay of a POP3 account), a raw
// SMTP client for exact conversations (BDAT, BURL: no stock client speaks them), swaks,
// and setting up a user's sending addresses and relay.
import { spawnSync, spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { PgSendingAccounts } from '../../src/store/sending-accounts';
import type { TestServer } from '../support/server';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** The login the sender used, when the sink asks for one. */
  user?: string;
}

export interface Sink {
  port: number;
  messages: SunkMessage[];
  /** RCPT addresses refused with this reply ("550 5.1.1 ..."). */
  refuse: Map<string, { code: number; text: string }>;
  /** While set, DATA is never answered (a relay that hangs). */
  stall: boolean;
  /** Messages received in full but left unanswered while `stall` was set. */
  stalled: number;
  /** With a login set, the sink requires AUTH and accepts only this one. */
  login: { user: string; pass: string } | null;
  /** AUTH attempts, and how they went. */
  auths: Array<{ user: string; ok: boolean }>;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Connections opened to the sink so far. */
  connections: number;
  /** Closes every open connection (memgate keeps pooled ones between messages). */
  dropConnections(): void;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startSink(port = 0, login: { user: string; pass: string } | null = null): Promise<Sink> {
  const messages: SunkMessage[] = [];
  const refuse = new Map<string, { code: number; text: string }>();
  let waiters: Array<() => void> = [];
  const sink: Sink = {
    port: 0,
    messages,
    refuse,
    stall: false,
    stalled: 0,
    login,
    auths: [],
    connections: 0,
    async waitFor(count, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`sink got ${messages.length} messages, waited for ${count}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    dropConnections() {
      for (const c of (server as unknown as { connections: Set<{ close(): void }> }).connections) c.close();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: login === null,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 500,
    onConnect(_session, callback) {
      sink.connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      const ok = sink.login !== null && auth.username === sink.login.user && auth.password === sink.login.pass;
      sink.auths.push({ user: auth.username ?? '', ok });
      callback(ok ? null : new Refusal(535, '5.7.8 Authentication credentials invalid'), ok ? { user: auth.username } : undefined);
    },
    onRcptTo(address, _session, callback) {
      const r = refuse.get(address.address.toLowerCase());
      callback(r ? new Refusal(r.code, r.text) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (sink.stall) {
          sink.stalled++; // never answers
          return;
        }
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
        });
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  sink.port = (server.server.address() as net.AddressInfo).port;
  return sink;
}

/** Gives the user's primary account these addresses and a relay on loopback. */
export async function setupSending(server: TestServer, userName: string, addresses: string[], relayPort: number | null) {
  const accounts = new PgSendingAccounts(server.memgate.database.dataSource);
  const [user] = (await server.memgate.store.listUsers()).filter((u) => u.name === userName);
  await accounts.updateSubmissionSettings(user.id, {
    addresses,
    smtpRelay: relayPort === null ? null : { host: '127.0.0.1', port: relayPort, timeoutSeconds: 10 },
  });
  return user;
}

export function haveSwaks(): boolean {
  return spawnSync('swaks', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Tests that need swaks skip loudly on a laptop without it and fail in CI. */
export function requireSwaks(ctx: Mocha.Context): void {
  if (haveSwaks()) return;
  if (process.env.CI) throw new Error('swaks is not installed (apt-get install swaks)');
  console.warn('    SKIPPED: swaks is not installed (apt-get install swaks)');
  ctx.skip();
}

export function swaks(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('swaks', ['--suppress-data', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A raw SMTP client: sends exactly what it is told, returns whole replies. */
export class SmtpRaw {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private socket: net.Socket) {
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
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
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<{ client: SmtpRaw; greeting: string }> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new SmtpRaw(socket);
    const greeting = await client.reply();
    return { client, greeting };
  }

  /** The next complete reply (all lines up to `NNN ` ). */
  async reply(timeoutMs = 20000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0];
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply; pending: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async send(line: string): Promise<string> {
    this.write(line + '\r\n');
    return this.reply();
  }

  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: this.socket, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** EHLO then AUTH PLAIN. */
  async login(user: string, password: string): Promise<void> {
    await this.send('EHLO client.test');
    const r = await this.send(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
    if (!r.startsWith('235')) throw new Error(`AUTH failed: ${r}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function message(from: string, to: string, subject: string, body = 'Hello.\r\n'): string {
  return `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@test>\r\n\r\n${body}`;
}
