// A scriptable POP3 server (RFC 1939 + CAPA) for the faults a real server will not produce
// on demand: no UIDL, duplicate or renumbered UIDLs, [IN-USE], a stall, a connection
// dropped in the middle of RETR, being down. Dovecot stays the backend for everything else.
import net from 'node:net';

export interface FakeMessage {
  uidl: string;
  raw: Buffer;
}

export interface FakePop3Options {
  user?: string;
  password?: string;
}

export class FakePop3 {
  messages: FakeMessage[] = [];
  user: string;
  password: string;
  /** Faults, changed by tests at any time. */
  faults = {
    noUidl: false,
    inUse: false,
    /** Never answer the greeting / the next RETR. */
    stallGreeting: false,
    stallRetr: false,
    /** Send half of the next RETR's message, then drop the connection (count: how many times). */
    dropMidRetr: 0,
    pipelining: true,
    loginDelay: 0,
    /** RETRs after this many in one session stall (null: no limit). */
    stallRetrAfter: null as number | null,
    /** UIDLs whose TOP answers a header RETR does not begin with (an extra field). */
    topDiffers: new Set<string>(),
    /** Announce "LOGIN-DELAY n USER" before login and this value after it (RFC 2449 6.5). */
    loginDelayUser: null as number | null,
    /** Refuse a login sooner than the login delay after the last one with [LOGIN-DELAY]. */
    enforceLoginDelay: false,
  };
  /** When the last login was accepted (ms), and the logins refused as too soon. */
  lastLoginAt = 0;
  loginDelayRefusals = 0;
  /** Every command line received (PASS masked), for assertions about traffic. */
  readonly commands: string[] = [];
  sessions = 0;
  concurrent = 0;
  maxConcurrent = 0;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(opts: FakePop3Options = {}) {
    this.user = opts.user ?? 'pop';
    this.password = opts.password ?? 'pop-pass';
  }

  add(uidl: string, raw: Buffer | string): void {
    this.messages.push({ uidl, raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw) });
  }

  async start(port = 0): Promise<number> {
    this.server = net.createServer((socket) => this.session(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Stops listening and drops every connection (the server is "down"); start(port) again later. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private session(socket: net.Socket): void {
    this.sockets.add(socket);
    this.sessions++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.concurrent--;
    });
    socket.on('error', () => undefined);
    if (this.faults.stallGreeting) return;
    let authed = false;
    let user: string | null = null;
    // The maildrop as of login (RFC 1939: messages do not appear or renumber in a session).
    let drop: FakeMessage[] = [];
    const deleted = new Set<number>();
    let retrs = 0;
    const send = (line: string): void => {
      socket.write(`${line}\r\n`);
    };
    send('+OK fake POP3 ready');
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let eol: number;
      while ((eol = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const [verb, ...args] = line.split(' ');
        const cmd = verb.toUpperCase();
        this.commands.push(cmd === 'PASS' ? 'PASS ***' : line);
        const msg = (arg: string | undefined): FakeMessage | null => {
          const n = Number(arg);
          return Number.isInteger(n) && n >= 1 && n <= drop.length && !deleted.has(n) ? drop[n - 1] : null;
        };
        if (cmd === 'CAPA') {
          const caps = ['TOP', 'USER', 'RESP-CODES', ...(this.faults.noUidl ? [] : ['UIDL']), ...(this.faults.pipelining ? ['PIPELINING'] : [])];
          const perUser = this.faults.loginDelayUser;
          if (this.faults.loginDelay > 0) caps.push(authed && perUser !== null ? `LOGIN-DELAY ${perUser}` : `LOGIN-DELAY ${this.faults.loginDelay}${perUser !== null ? ' USER' : ''}`);
          send('+OK capabilities');
          for (const c of caps) send(c);
          send('.');
        } else if (cmd === 'USER') {
          user = args.join(' ');
          send('+OK');
        } else if (cmd === 'PASS') {
          const delayMs = (this.faults.loginDelayUser ?? this.faults.loginDelay) * 1000;
          if (this.faults.inUse) send('-ERR [IN-USE] maildrop locked');
          else if (user !== this.user || args.join(' ') !== this.password) send('-ERR [AUTH] invalid login');
          else if (this.faults.enforceLoginDelay && Date.now() - this.lastLoginAt < delayMs) {
            this.loginDelayRefusals++;
            send('-ERR [LOGIN-DELAY] wait before logging in again');
          } else {
            this.lastLoginAt = Date.now();
            authed = true;
            drop = [...this.messages];
            send('+OK logged in');
          }
        } else if (cmd === 'QUIT') {
          if (authed && deleted.size > 0) {
            const gone = new Set([...deleted].map((n) => drop[n - 1]));
            this.messages = this.messages.filter((m) => !gone.has(m));
          }
          send('+OK bye');
          socket.end();
        } else if (!authed) {
          send('-ERR log in first');
        } else if (cmd === 'STAT') {
          send(`+OK ${drop.length - deleted.size} ${drop.reduce((a, m) => a + m.raw.length, 0)}`);
        } else if (cmd === 'UIDL' || cmd === 'LIST') {
          if (cmd === 'UIDL' && this.faults.noUidl) {
            send('-ERR unknown command');
            continue;
          }
          send('+OK listing');
          drop.forEach((m, i) => {
            if (!deleted.has(i + 1)) send(`${i + 1} ${cmd === 'UIDL' ? m.uidl : m.raw.length}`);
          });
          send('.');
        } else if (cmd === 'RETR' || cmd === 'TOP') {
          const m = msg(args[0]);
          if (!m) {
            send('-ERR no such message');
            continue;
          }
          if (cmd === 'RETR' && this.faults.stallRetr) return;
          if (cmd === 'RETR' && this.faults.stallRetrAfter !== null && retrs++ >= this.faults.stallRetrAfter) return;
          let raw = m.raw;
          if (cmd === 'TOP') {
            const end = raw.indexOf('\r\n\r\n');
            raw = end >= 0 ? raw.subarray(0, end + 4) : raw;
            if (this.faults.topDiffers.has(m.uidl)) raw = Buffer.concat([Buffer.from('X-Top-Only: yes\r\n'), raw]);
          }
          const stuffed = stuff(raw);
          if (cmd === 'RETR' && this.faults.dropMidRetr > 0) {
            this.faults.dropMidRetr--;
            socket.write('+OK message follows\r\n');
            socket.write(stuffed.subarray(0, Math.floor(stuffed.length / 2)));
            socket.destroy();
            return;
          }
          socket.write('+OK message follows\r\n');
          socket.write(stuffed);
          send('.');
        } else if (cmd === 'DELE') {
          if (!msg(args[0])) send('-ERR no such message');
          else {
            deleted.add(Number(args[0]));
            send('+OK deleted');
          }
        } else if (cmd === 'NOOP') {
          send('+OK');
        } else if (cmd === 'RSET') {
          deleted.clear();
          send('+OK');
        } else {
          send('-ERR unknown command');
        }
      }
    });
  }
}

/** Dot-stuffing (RFC 1939 3), and a final CRLF so the terminator starts a line. */
function stuff(raw: Buffer): Buffer {
  let text = raw.toString('latin1');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/^\./gm, '..');
  return Buffer.from(text, 'latin1');
}
