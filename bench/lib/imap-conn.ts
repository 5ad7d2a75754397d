// A small IMAP client for benchmarks: raw socket, pipelined commands, and a streaming
// response scanner that follows literals ({n} / {n+}) so that a multi-megabyte FETCH
// answer is never copied or re-scanned as a whole. It counts bytes and untagged lines and
// resolves each command when its tagged response arrives.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Tagged {
  tag: string;
  status: 'OK' | 'NO' | 'BAD';
  /** The tagged line (latin1, without CRLF). */
  line: string;
  /** Milliseconds from write to the tagged line. */
  ms: number;
  /** Bytes received between the write and the tagged line (inclusive). */
  bytes: number;
  /** Untagged responses received meanwhile, by kind ("FETCH", "EXISTS", ...). */
  untagged: Map<string, number>;
}

interface Pending {
  tag: string;
  start: number;
  bytesAtStart: number;
  untagged: Map<string, number>;
  resolve: (t: Tagged) => void;
  reject: (e: Error) => void;
}

const LITERAL_AT_END = /\{(\d+)\+?\}\r\n$/;
/** Lines shorter than this are kept whole for listeners; longer ones only by their head. */
const HEAD = 120;

export type LineListener = (head: string, at: number) => void;

export class ImapConn {
  /** Total bytes received on this connection. */
  bytesIn = 0;
  bytesOut = 0;
  closed = false;
  private literalLeft = 0;
  /** Head and tail of the segment (up to the next LF) being read. */
  private segHead = '';
  private segTail = '';
  /** Head of the logical line being read (first segment), or null at a line start. */
  private lineHead: string | null = null;
  private readonly pending = new Map<string, Pending>();
  private nextTag = 1;
  private lineListener: LineListener | null = null;
  private greetingWaiter: ((line: string) => void) | null = null;
  private greeting: string | null = null;
  private closeError: Error | null = null;
  /** When set, every received chunk is also kept here (for diffing servers' answers). */
  capture: Buffer[] | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeError = err;
    });
    socket.on('close', () => {
      this.closed = true;
      const err = this.closeError ?? new Error('connection closed');
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 30000): Promise<ImapConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const conn = new ImapConn(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no greeting from ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      conn.greetingWaiter = (line) => {
        clearTimeout(timer);
        if (line.startsWith('* OK') || line.startsWith('* PREAUTH')) resolve(conn);
        else {
          socket.destroy();
          reject(new Error(`bad greeting: ${line}`));
        }
      };
      if (conn.greeting !== null) conn.greetingWaiter(conn.greeting);
    });
  }

  /** Called for every complete logical line (its head: first segment, max HEAD chars). */
  onLine(listener: LineListener | null): void {
    this.lineListener = listener;
  }

  tag(): string {
    return `b${this.nextTag++}`;
  }

  /** Sends `tag text CRLF` (text may be a Buffer with literals); resolves at the tagged response. */
  command(text: string | Buffer, tag = this.tag()): Promise<Tagged> {
    const head = Buffer.from(`${tag} `, 'latin1');
    const body = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    return this.send(tag, [head, body, CRLF]);
  }

  /** Sends raw bytes that end a command with the given tag. */
  send(tag: string, chunks: Buffer[]): Promise<Tagged> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.pending.set(tag, {
        tag,
        start: performance.now(),
        bytesAtStart: this.bytesIn,
        untagged: new Map(),
        resolve,
        reject,
      });
      for (const c of chunks) {
        this.bytesOut += c.length;
        this.socket.write(c);
      }
    });
  }

  /** Writes bytes that belong to no command (IDLE's DONE). */
  write(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.bytesOut += b.length;
    this.socket.write(b);
  }

  /** Starts IDLE: resolves once the continuation request arrives. */
  idle(tag = this.tag()): { tag: string; ready: Promise<void>; done: Promise<Tagged> } {
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    const previous = this.lineListener;
    this.lineListener = (head, at) => {
      if (head.startsWith('+')) {
        this.lineListener = previous;
        readyResolve();
      } else previous?.(head, at);
    };
    const done = this.command('IDLE', tag);
    done.then(
      (t) => readyReject(new Error(`IDLE ended before continuation: ${t.line}`)),
      (e: Error) => readyReject(e),
    );
    return { tag, ready, done };
  }

  async login(user: string, password: string): Promise<void> {
    const t = await this.command(`LOGIN ${quote(user)} ${quote(password)}`);
    if (t.status !== 'OK') throw new Error(`LOGIN failed: ${t.line}`);
  }

  async ok(text: string | Buffer): Promise<Tagged> {
    const t = await this.command(text);
    if (t.status !== 'OK') throw new Error(`${text.slice(0, 60).toString()} failed: ${t.line}`);
    return t;
  }

  close(): void {
    this.socket.destroy();
  }

  async logout(): Promise<void> {
    if (this.closed) return;
    await this.command('LOGOUT').catch(() => undefined);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const at = performance.now();
    this.bytesIn += chunk.length;
    this.capture?.push(chunk);
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, n - p);
        this.literalLeft -= take;
        p += take;
        continue;
      }
      const lf = chunk.indexOf(0x0a, p);
      if (lf < 0) {
        this.appendPartial(chunk, p, n);
        break;
      }
      this.appendPartial(chunk, p, lf + 1);
      p = lf + 1;
      const head = this.segHead;
      const tail = this.segTail;
      this.segHead = '';
      this.segTail = '';
      this.segment(head, tail, at);
    }
  }

  /** Keeps a segment's head (HEAD chars) and its last 40 (enough to see a literal marker). */
  private appendPartial(chunk: Buffer, from: number, to: number): void {
    if (this.segHead.length < HEAD) {
      const take = Math.min(to - from, HEAD - this.segHead.length);
      this.segHead += chunk.toString('latin1', from, from + take);
    }
    this.segTail = (this.segTail + chunk.toString('latin1', Math.max(from, to - 40), to)).slice(-40);
  }

  private segment(head: string, tail: string, at: number): void {
    if (this.lineHead === null) this.lineHead = head;
    const m = LITERAL_AT_END.exec(tail);
    if (m) {
      this.literalLeft = Number(m[1]);
      return;
    }
    const line = this.lineHead.replace(/\r?\n$/, '');
    this.lineHead = null;
    this.line(line, at);
  }

  private line(head: string, at: number): void {
    if (this.greeting === null) {
      this.greeting = head;
      this.greetingWaiter?.(head);
      return;
    }
    if (head.startsWith('* ')) {
      const kind = untaggedKind(head);
      for (const p of this.pending.values()) p.untagged.set(kind, (p.untagged.get(kind) ?? 0) + 1);
      this.lineListener?.(head, at);
      return;
    }
    if (head.startsWith('+')) {
      this.lineListener?.(head, at);
      return;
    }
    const sp = head.indexOf(' ');
    const tag = sp > 0 ? head.slice(0, sp) : head;
    const p = this.pending.get(tag);
    if (!p) {
      this.lineListener?.(head, at);
      return;
    }
    this.pending.delete(tag);
    const status = head.slice(sp + 1, sp + 4).trim() as Tagged['status'];
    p.resolve({
      tag,
      status: status === 'OK' || status === 'NO' ? status : 'BAD',
      line: head,
      ms: at - p.start,
      bytes: this.bytesIn - p.bytesAtStart,
      untagged: p.untagged,
    });
  }
}

const CRLF = Buffer.from('\r\n');

/** "* 12 FETCH (..." -> FETCH; "* OK [..." -> OK; "* CAPABILITY ..." -> CAPABILITY. */
function untaggedKind(head: string): string {
  const m = /^\* (?:\d+ )?([A-Za-z.]+)/.exec(head);
  return m ? m[1].toUpperCase() : '?';
}

export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
