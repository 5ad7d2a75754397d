// A cursor over one framed command (see reader.ts) with the grammar pieces of RFC 9051 9.
// Command files combine these into their own argument parsers. Every failure throws
// ProtocolError, which the session answers with a tagged BAD.
import { ProtocolError } from '../../core/errors';
import { decodeMutf7 } from './mutf7';
import type { SeqRange, SequenceSet } from './sequence';

const ATOM_SPECIALS = new Set([0x28, 0x29, 0x7b, 0x20, 0x25, 0x2a, 0x22, 0x5c, 0x5d]);

function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && !ATOM_SPECIALS.has(c);
}

export class Parser {
  pos = 0;
  /**
   * Set when a mailbox name was not valid modified UTF-7: it is then taken literally (so
   * SELECT answers NO, as Dovecot does) and commands that create names refuse it.
   */
  invalidMailboxName: string | null = null;
  constructor(readonly bytes: Buffer, readonly utf8Names = false) {}

  atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  peek(): number {
    return this.pos < this.bytes.length ? this.bytes[this.pos] : -1;
  }

  peekChar(ch: string): boolean {
    return this.peek() === ch.charCodeAt(0);
  }

  /** Consumes `ch` if it is next. */
  take(ch: string): boolean {
    if (this.peekChar(ch)) {
      this.pos++;
      return true;
    }
    return false;
  }

  expect(ch: string, what?: string): void {
    if (!this.take(ch)) this.fail(`Expected ${what ?? JSON.stringify(ch)}`);
  }

  sp(): void {
    if (!this.take(' ')) this.fail('Expected a space');
  }

  end(): void {
    if (!this.atEnd()) this.fail('Unexpected extra arguments');
  }

  fail(message: string): never {
    const near = this.bytes.subarray(this.pos, this.pos + 20).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    throw new ProtocolError(near ? `${message} near "${near}"` : `${message} at end of command`);
  }

  /** An atom (letters, digits, and anything not special); `extra` allows more chars (e.g. "]" or "["). */
  atom(extra = ''): string {
    const start = this.pos;
    while (this.pos < this.bytes.length) {
      const c = this.bytes[this.pos];
      if (isAtomChar(c) || (c !== 0x20 && extra.includes(String.fromCharCode(c)))) this.pos++;
      else break;
    }
    if (this.pos === start) this.fail('Expected an atom');
    return this.bytes.toString('latin1', start, this.pos);
  }

  /** A tag: atom characters except "+". */
  tag(): string {
    const t = this.atom();
    if (t.includes('+')) this.fail('Invalid tag');
    return t;
  }

  number(): number {
    const start = this.pos;
    while (this.pos < this.bytes.length && this.bytes[this.pos] >= 0x30 && this.bytes[this.pos] <= 0x39) this.pos++;
    if (this.pos === start || this.pos - start > 20) this.fail('Expected a number');
    const n = Number(this.bytes.toString('latin1', start, this.pos));
    if (!Number.isSafeInteger(n)) this.fail('Number too large');
    return n;
  }

  nzNumber(): number {
    const n = this.number();
    if (n === 0) this.fail('Expected a non-zero number');
    return n;
  }

  /** number64 checked against the 63-bit limit of mod-sequences. */
  modseq(): number {
    return this.number();
  }

  /** A quoted string or a literal, as raw bytes. */
  stringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || (c === 0x7e && this.bytes[this.pos + 1] === 0x7b)) return this.literal();
    this.fail('Expected a string');
  }

  private quoted(): Buffer {
    this.pos++;
    const out: number[] = [];
    while (true) {
      if (this.pos >= this.bytes.length) this.fail('Unterminated quoted string');
      const c = this.bytes[this.pos++];
      if (c === 0x22) break;
      if (c === 0x0d || c === 0x0a) this.fail('Line break in quoted string');
      if (c === 0x5c) {
        const n = this.bytes[this.pos++];
        if (n !== 0x22 && n !== 0x5c) this.fail('Invalid escape in quoted string');
        out.push(n);
      } else out.push(c);
    }
    return Buffer.from(out);
  }

  /** {n}CRLF<n bytes>, {n+}, {n-} and binary ~{n}. */
  literal(): Buffer {
    this.take('~');
    this.expect('{');
    const size = this.number();
    if (!this.take('+')) this.take('-');
    this.expect('}');
    if (this.bytes[this.pos] === 0x0d) this.pos++;
    this.expect('\n', 'CRLF after literal size');
    if (this.pos + size > this.bytes.length) this.fail('Literal shorter than announced');
    const out = this.bytes.subarray(this.pos, this.pos + size);
    this.pos += size;
    return out;
  }

  /** True when a literal (possibly binary "~{") starts here. */
  atLiteral(): boolean {
    const c = this.peek();
    return c === 0x7b || (c === 0x7e && this.bytes[this.pos + 1] === 0x7b);
  }

  string(): string {
    return this.stringBytes().toString('utf8');
  }

  /** astring: atom (with "]") or string. */
  astringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22 || this.atLiteral()) return this.stringBytes();
    const start = this.pos;
    this.atom(']');
    return this.bytes.subarray(start, this.pos);
  }

  astring(): string {
    return this.astringBytes().toString('utf8');
  }

  /** nstring: NIL or a string. */
  nstring(): string | null {
    if (this.matchWord('NIL')) return null;
    return this.string();
  }

  /** A case-insensitive keyword followed by a delimiter; consumes it when it matches. */
  matchWord(word: string): boolean {
    const end = this.pos + word.length;
    if (end > this.bytes.length) return false;
    if (this.bytes.toString('latin1', this.pos, end).toUpperCase() !== word.toUpperCase()) return false;
    const next = end < this.bytes.length ? this.bytes[end] : -1;
    if (next !== -1 && isAtomChar(next) && next !== 0x5d) return false;
    this.pos = end;
    return true;
  }

  /**
   * A mailbox name: astring, decoded from modified UTF-7 unless UTF-8 names are on
   * (IMAP4rev2 / UTF8=ACCEPT), and INBOX in any case normalised.
   */
  mailbox(): string {
    const raw = this.astringBytes();
    let name: string;
    if (this.utf8Names) {
      name = raw.toString('utf8');
      if (name.includes('\ufffd')) this.fail('Mailbox name is not valid UTF-8');
    } else {
      const text = raw.toString('latin1');
      if (/[^\x00-\x7f]/.test(text)) {
        // A client that sends raw UTF-8 without enabling it: accept valid UTF-8 names.
        name = raw.toString('utf8');
        if (name.includes('\ufffd')) this.fail('Mailbox name is not valid modified UTF-7');
      } else {
        try {
          name = decodeMutf7(text);
        } catch (err) {
          this.invalidMailboxName = text;
          name = text;
          void err;
        }
      }
    }
    return normalizeInbox(name);
  }

  /** A parenthesised list; `item` parses one element. Empty lists allowed. */
  list<T>(item: () => T): T[] {
    this.expect('(');
    const out: T[] = [];
    if (this.take(')')) return out;
    while (true) {
      out.push(item());
      if (this.take(')')) return out;
      this.sp();
    }
  }

  /** A flag: \Atom system flag or keyword atom. */
  flag(): string {
    if (this.take('\\')) {
      if (this.take('*')) return '\\*';
      return '\\' + this.atom();
    }
    return this.atom(']');
  }

  flagList(): string[] {
    if (this.peekChar('(')) return this.list(() => this.flag());
    return [this.flag()];
  }

  sequenceSet(): SequenceSet {
    if (this.take('$')) return { kind: 'saved' };
    const ranges: SeqRange[] = [];
    do {
      const from = this.seqNumber();
      let to = from;
      if (this.take(':')) to = this.seqNumber();
      ranges.push({ from, to });
    } while (this.take(','));
    return { kind: 'ranges', ranges };
  }

  private seqNumber(): number {
    if (this.take('*')) return 0;
    const n = this.number();
    if (n === 0 || n > 0xffffffff) this.fail('Invalid sequence number');
    return n;
  }

  /** date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space-padded). */
  dateTime(): Date {
    const s = this.quoted().toString('latin1');
    const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
    const month = m ? MONTHS.indexOf(m[2].toLowerCase()) : -1;
    if (!m || month < 0) this.fail('Invalid date-time');
    const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
    const utc = Date.UTC(Number(m[3]), month, Number(m[1].trim()), Number(m[4]), Number(m[5]), Number(m[6]));
    const d = new Date(utc - offset * 60000);
    if (Number.isNaN(d.getTime()) || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) this.fail('Invalid date-time');
    return d;
  }

  /** date: d-Mon-yyyy, optionally quoted. Returns the calendar day (UTC midnight). */
  date(): Date {
    const quoted = this.take('"');
    const s = this.atom();
    if (quoted) this.expect('"');
    const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
    const month = m ? MONTHS.indexOf(m[2].toLowerCase()) : -1;
    if (!m || month < 0 || Number(m[1]) < 1 || Number(m[1]) > 31) this.fail('Invalid date');
    return new Date(Date.UTC(Number(m[3]), month, Number(m[1])));
  }
}

export const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** INBOX is case-insensitive, also as the first level of a hierarchy (RFC 9051 5.1). */
export function normalizeInbox(name: string): string {
  if (/^inbox$/i.test(name)) return 'INBOX';
  if (/^inbox\//i.test(name)) return 'INBOX' + name.slice(5);
  return name;
}
