// One IMAP connection's state machine (RFC 9051 3): framing in, commands dispatched from
// the typed table one at a time, responses out, and store events turned into untagged
// updates at the moments the RFC allows.
import type { User } from '../core/ports';
import { MemgateError } from '../core/errors';
import { CommandReader, tagOf, type ReaderEvent } from './wire/reader';
import { Parser } from './wire/parser';
import { serialize, type WireValue } from './wire/encode';
import { capabilities } from './capabilities';
import type { SelectedMailbox } from './selected';
import { COMMANDS, type CommandResult } from './commands';
import type { ImapContext } from './context';
import type { MailboxViews } from './mailbox-view';
import { announceUpdates } from './updates';

export type SessionState = 'notAuthenticated' | 'authenticated' | 'selected' | 'logout';

/** The transport under a session: a TCP or TLS socket, seen through what the session needs. */
export interface Transport {
  write(chunks: Array<string | Buffer>): void;
  /** Upgrades to TLS in place (STARTTLS); resolves once the handshake is done. */
  startTls(): Promise<void>;
  /** Deflates both directions from the next byte on (COMPRESS=DEFLATE, RFC 4978). */
  startCompression(): void;
  readonly compressionActive: boolean;
  /** How long the client may stay silent before the connection is closed. */
  setInactivityTimeout(ms: number): void;
  close(): void;
  readonly tlsActive: boolean;
  readonly loopback: boolean;
  readonly remoteAddress: string;
}

type Continuation = (line: Buffer) => void;

/** ENABLEd extensions (RFC 5161), as bits: one small object per session, not a Set. */
export class EnabledExtensions {
  private bits = 0;

  private static bit(name: string): number {
    const i = ENABLE_NAMES.indexOf(name);
    return i < 0 ? 0 : 1 << i;
  }

  has(name: string): boolean {
    return (this.bits & EnabledExtensions.bit(name)) !== 0;
  }

  /** Only the names in ENABLEABLE (src/imap/capabilities.ts) are kept. */
  add(name: string): void {
    this.bits |= EnabledExtensions.bit(name);
  }

  clear(): void {
    this.bits = 0;
  }
}

const ENABLE_NAMES = ['IMAP4REV2', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC'];

export class Session {
  state: SessionState = 'notAuthenticated';
  user: User | null = null;
  selected: SelectedMailbox | null = null;
  /** ENABLEd extensions (upper case). */
  readonly enabled = new EnabledExtensions();
  authFailures = 0;
  /** Set by commands that poll (NOOP, CHECK, APPEND here): read the store at the command's end. */
  dirty = false;
  /** Receives the next client line instead of the dispatcher (SASL responses). */
  continuation: Continuation | null = null;
  /** Set while IDLE runs: push updates as soon as they happen. */
  idling = false;
  /** The tag of the running IDLE: the next line from the client ends it (RFC 2177). */
  private idleTag: string | null = null;

  private reader: CommandReader;
  private queue: ReaderEvent[] = [];
  private running = false;
  private closed = false;

  constructor(
    readonly ctx: ImapContext,
    readonly transport: Transport,
    /** The process's shared mailbox views (src/imap/mailbox-view.ts). */
    readonly views: MailboxViews,
  ) {
    this.reader = new CommandReader(ctx.limits);
  }

  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT') || this.enabled.has('IMAP4REV2');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  /** CONDSTORE is on (RFC 7162 3.1: ENABLE, or any CONDSTORE enabling command; QRESYNC implies it). */
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE');
  }

  /** QRESYNC is on (RFC 7162 3.2.3): expunges are announced as VANISHED. */
  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  /** Plaintext authentication is acceptable on this connection. */
  get secure(): boolean {
    return (
      this.transport.tlsActive ||
      (this.transport.loopback && this.ctx.loopbackIsSecure !== false) ||
      this.ctx.allowPlaintextAuth
    );
  }

  capabilityList(): string[] {
    return capabilities({
      authenticated: this.state !== 'notAuthenticated',
      secure: this.secure,
      tlsAvailable: this.ctx.tls !== null,
      tlsActive: this.transport.tlsActive,
      urlauth: this.ctx.urlauth !== undefined,
    });
  }

  greet(): void {
    this.send(`* OK [CAPABILITY ${this.capabilityList().join(' ')}] memgate ready`);
  }

  /** Bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.closed) return;
    for (const event of this.reader.push(chunk)) {
      if (event.kind === 'continue') {
        this.send('+ Ready for literal data');
      } else if (event.kind === 'command' && this.continuation) {
        // A running command (IDLE, AUTHENTICATE) waits for this line.
        const take = this.continuation;
        take(event.bytes);
      } else {
        this.queue.push(event);
      }
    }
    void this.drain();
  }

  /** A new reader after STARTTLS: bytes pipelined before the handshake are dropped (RFC 9051 6.2.1). */
  resetReader(): void {
    this.reader = new CommandReader(this.ctx.limits);
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const event = this.queue.shift()!;
        if (event.kind === 'command' && this.continuation) {
          this.continuation(event.bytes);
          continue;
        }
        if (event.kind === 'rejected') {
          this.rejected(event);
          continue;
        }
        if (event.kind !== 'command') continue;
        if (this.idleTag !== null) await this.endIdle(this.idleTag, event.bytes);
        else await this.dispatch(event.bytes);
      }
    } finally {
      this.running = false;
      // A fresh empty array: the old one keeps the capacity its busiest moment needed.
      if (this.queue.length === 0) this.queue = [];
    }
  }

  /**
   * IDLE is a state, not a command in progress: while it lasts, nothing of the session waits
   * on a promise (no suspended handler per idle connection); the next line ends it.
   */
  startIdle(tag: string): void {
    this.send('+ idling');
    this.idleTag = tag;
    this.idling = true;
  }

  private async endIdle(tag: string, line: Buffer): Promise<void> {
    this.idleTag = null;
    this.idling = false;
    if (line.toString('latin1').trim().toUpperCase() !== 'DONE') {
      this.tagged(tag, 'BAD', null, 'Expected DONE to end IDLE');
      return;
    }
    try {
      await this.afterCommand(false);
      if (!this.closed) this.tagged(tag, 'OK', null, 'IDLE terminated');
    } catch (err) {
      if (!this.closed) this.replyError(tag, 'IDLE', err);
    }
  }

  private rejected(event: Extract<ReaderEvent, { kind: 'rejected' }>): void {
    const tag = event.tag ?? '*';
    if (event.reason === 'literal-too-big') {
      this.send(`${tag} NO [TOOBIG] Literal of ${event.size} octets is larger than ${this.ctx.limits.maxLiteralSize}`);
    } else {
      this.send(`${tag} BAD [TOOBIG] Command line longer than ${this.ctx.limits.maxLineLength} octets`);
    }
  }

  private async dispatch(bytes: Buffer): Promise<void> {
    const parser = new Parser(bytes, this.utf8);
    let tag: string;
    try {
      tag = parser.tag();
      parser.sp();
    } catch {
      const guess = tagOf(bytes);
      if (bytes.length === 0) this.send('* BAD Empty command line');
      else this.send(`${guess ?? '*'} BAD Missing or invalid tag or command`);
      return;
    }
    let name: string;
    try {
      name = parser.atom().toUpperCase();
      if (name === 'UID') {
        parser.sp();
        name = 'UID ' + parser.atom().toUpperCase();
      }
    } catch {
      this.send(`${tag} BAD Missing command name`);
      return;
    }
    const command = COMMANDS.get(name);
    if (!command) {
      this.send(`${tag} BAD Unknown command ${name.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}`);
      return;
    }
    if (!command.states.includes(this.state)) {
      this.send(`${tag} BAD [CLIENTBUG] ${name} is not allowed ${stateText(this.state)}`);
      return;
    }
    try {
      const args: unknown = command.parse(parser, this);
      const result: CommandResult | void = await command.handle(this, args, tag);
      if (this.closed || result?.answered) return;
      if (!command.defersUpdates) await this.afterCommand(command.blocksExpunge === true);
      this.tagged(tag, 'OK', result?.code ?? null, result?.text ?? `${name} completed`);
    } catch (err) {
      if (this.closed) return;
      this.replyError(tag, name, err);
    }
  }

  /** Maps an error to the tagged answer; unexpected errors are bugs and are logged. */
  replyError(tag: string, name: string, err: unknown): void {
    if (err instanceof MemgateError) {
      const code = err.imapCode ? `[${err.imapCode}] ` : '';
      this.send(`${tag} ${err.imapStatus} ${code}${sanitize(err.message)}`);
      return;
    }
    this.ctx.log.error({ err, command: name }, 'IMAP command failed unexpectedly');
    this.send(`${tag} NO [SERVERBUG] ${name} failed: internal error, logged`);
  }

  tagged(tag: string, status: 'OK' | 'NO' | 'BAD', code: string | null, text: string): void {
    this.send(`${tag} ${status} ${code ? `[${code}] ` : ''}${text}`);
  }

  /** Untagged updates owed to the client after a command (RFC 9051 7.4.1). */
  private async afterCommand(blocksExpunge: boolean): Promise<void> {
    const sel = this.selected;
    if (sel && (this.dirty || !sel.current || sel.shared.stale)) await this.catchUp(!blocksExpunge, this.dirty);
    // RFC 7162 3.2: MODSEQs sent while expunges wait must not let the client skip them.
    if (blocksExpunge && this.condstore && this.selected?.holdsExpunges) {
      this.send(`* OK [HIGHESTMODSEQ ${this.selected.reportableModseq()}] Expunges pending`);
    }
  }

  /**
   * Announces what changed in the selected mailbox. With `poll`, the shared view first reads
   * the store (a refresh that starts now), else it waits only for refreshes that store events
   * started (this session's own changes among them). The announcing itself never waits, so
   * two catch-ups can never interleave their responses.
   */
  async catchUp(allowExpunge: boolean, poll = true): Promise<void> {
    const sel = this.selected;
    if (!sel || !this.user) return;
    this.dirty = false;
    if (poll) await sel.shared.sync();
    else await sel.shared.settle();
    if (this.selected !== sel || this.closed) return;
    announceUpdates(this, sel.catchUp(allowExpunge));
  }

  /** The shared view of the selected mailbox has a new snapshot: IDLE tells the client now. */
  snapshotChanged(sel: SelectedMailbox): void {
    if (this.idling && this.selected === sel && !this.closed) announceUpdates(this, sel.catchUp(true));
  }

  /** Untagged response or any line; CRLF appended. */
  send(line: string): void {
    this.write([line + '\r\n']);
  }

  /** `* <values...>` built from wire values (literals included). */
  sendUntagged(parts: WireValue[]): void {
    const chunks: Array<string | Buffer> = ['* '];
    parts.forEach((part, i) => {
      if (i > 0) chunks.push(' ');
      serialize(part, chunks);
    });
    chunks.push('\r\n');
    this.write(chunks);
  }

  write(chunks: Array<string | Buffer>): void {
    if (!this.closed) this.transport.write(chunks);
  }

  /** Logged in. */
  loggedIn(user: User): void {
    this.user = user;
    this.state = 'authenticated';
    this.authFailures = 0;
    // Authenticated sessions may stay quiet far longer (IDLE: at least 30 minutes).
    this.transport.setInactivityTimeout(this.ctx.limits.idleTimeoutMs);
  }

  /**
   * UNAUTHENTICATE (RFC 8437 3): back to the not-authenticated state as on a fresh
   * connection (no mailbox, nothing ENABLEd); TLS and COMPRESS stay.
   */
  unauthenticate(): void {
    this.select(null);
    this.user = null;
    this.state = 'notAuthenticated';
    this.enabled.clear();
    this.dirty = false;
  }

  /**
   * Makes `mailbox` the selected one (it holds a reference on its shared view, which this
   * session now owns) or leaves the selected state; the previous view is let go.
   */
  select(mailbox: SelectedMailbox | null): void {
    if (this.closed && mailbox) {
      // A SELECT that finished after the connection closed.
      this.views.release(mailbox.shared);
      return;
    }
    const previous = this.selected;
    if (previous && previous !== mailbox) {
      previous.owner = null;
      previous.shared.watchers.delete(previous);
      this.views.release(previous.shared);
    }
    this.selected = mailbox;
    this.state = mailbox ? 'selected' : this.user ? 'authenticated' : 'notAuthenticated';
    this.dirty = false;
    if (mailbox && mailbox !== previous) {
      mailbox.owner = this;
      mailbox.shared.watchers.add(mailbox);
    }
  }

  /** Ends the session: BYE already sent by the caller where the RFC wants one. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'logout';
    const waiting = this.continuation;
    this.continuation = null;
    waiting?.(Buffer.alloc(0));
    this.idleTag = null;
    this.idling = false;
    if (this.selected) {
      this.select(null);
      this.state = 'logout';
    }
    this.transport.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

function stateText(state: SessionState): string {
  switch (state) {
    case 'notAuthenticated':
      return 'before authentication';
    case 'authenticated':
      return 'without a selected mailbox';
    case 'selected':
      return 'with a mailbox selected';
    case 'logout':
      return 'after LOGOUT';
    default: {
      const never: never = state;
      return never;
    }
  }
}

function sanitize(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 500);
}
