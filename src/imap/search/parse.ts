// SEARCH arguments (RFC 9051 6.4.4 and 9 "search-key"; RFC 3501 6.4.4; RFC 4731 / RFC 9051
// result options; RFC 5182 "$"). The keys become a small AST, a union on `kind`, that
// evaluate.ts walks. Every malformed or unknown key is a ProtocolError (tagged BAD).
import type { Parser } from '../wire/parser';
import { MONTHS } from '../wire/parser';
import type { SequenceSet } from '../wire/sequence';
import { contentIdOf } from '../object-id';

/** A calendar day as days since 1970-01-01 (dates in SEARCH carry no time or zone). */
export type DayNumber = number;

export type DateOp = 'before' | 'on' | 'since';

export type SearchKey =
  | { kind: 'all' }
  | { kind: 'and'; keys: SearchKey[] }
  | { kind: 'or'; left: SearchKey; right: SearchKey }
  | { kind: 'not'; key: SearchKey }
  /** A system flag (`\Seen`) or keyword, wanted set or not set. */
  | { kind: 'flag'; flag: string; present: boolean }
  /** \Recent: memgate has no such state, so this never matches (RFC 9051 removed it). */
  | { kind: 'recent' }
  /** BEFORE/ON/SINCE compare INTERNALDATE; SENT* the Date header field. */
  | { kind: 'date'; field: 'internal' | 'sent'; op: DateOp; day: DayNumber }
  | { kind: 'size'; op: 'larger' | 'smaller'; size: number }
  /** OLDER / YOUNGER (RFC 5032 WITHIN): INTERNALDATE at least / less than `seconds` ago. */
  | { kind: 'within'; op: 'older' | 'younger'; seconds: number }
  /** FROM/TO/CC/BCC/SUBJECT/HEADER: substring of the decoded field; "" = field present. */
  | { kind: 'header'; name: string; value: string }
  | { kind: 'body'; value: string }
  | { kind: 'text'; value: string }
  | { kind: 'seq'; set: SequenceSet }
  | { kind: 'uid'; set: SequenceSet }
  /** MODSEQ (RFC 7162 3.1.5): message modseq >= this (per-flag entries use the message's). */
  | { kind: 'modseq'; modseq: number }
  /** EMAILID (RFC 8474 6): the content id it names, null for one never given out. */
  | { kind: 'emailId'; contentId: string | null }
  /** THREADID (RFC 8474 6): memgate's THREADID is NIL, so it matches nothing. */
  | { kind: 'threadId' };

export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

export interface SearchProgram {
  /** CHARSET as given (upper case), null when absent. Checked by the command, not here. */
  charset: string | null;
  key: SearchKey;
}

/** Nesting deeper than this is refused rather than risking the stack. */
const MAX_DEPTH = 64;

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const ADDRESS_KEYS: Record<string, string> = {
  BCC: 'Bcc',
  CC: 'Cc',
  FROM: 'From',
  TO: 'To',
  SUBJECT: 'Subject',
};

const DATE_KEYS: Record<string, ['internal' | 'sent', DateOp]> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

/**
 * `RETURN (...)` if present (the parser stands after "SEARCH" and its space). Returns the
 * options in a set; an empty list means ALL (RFC 4731 3.1). Null when there is no RETURN.
 */
export function parseReturnOptions(p: Parser): Set<ReturnOption> | null {
  if (!p.matchWord('RETURN')) return null;
  p.sp();
  const options = p.list(() => {
    const word = p.atom().toUpperCase();
    if (word !== 'MIN' && word !== 'MAX' && word !== 'ALL' && word !== 'COUNT' && word !== 'SAVE') {
      p.fail(`Unknown SEARCH result option ${word.slice(0, 20)}`);
    }
    return word;
  });
  const set = new Set<ReturnOption>(options);
  if (set.size === 0) set.add('ALL');
  return set;
}

/** `[CHARSET astring SP] search-key *(SP search-key)` up to the end of the command. */
export function parseSearchProgram(p: Parser): SearchProgram {
  let charset: string | null = null;
  if (p.matchWord('CHARSET')) {
    p.sp();
    charset = p.astring().toUpperCase();
    p.sp();
  }
  const keys: SearchKey[] = [parseKey(p, 0)];
  while (!p.atEnd()) {
    p.sp();
    keys.push(parseKey(p, 0));
  }
  return { charset, key: keys.length === 1 ? keys[0] : { kind: 'and', keys } };
}

/** One search-key (which may be a parenthesised list or an OR/NOT with its operands). */
export function parseKey(p: Parser, depth: number): SearchKey {
  if (depth > MAX_DEPTH) p.fail('Search keys nested too deeply');
  const c = p.peek();
  if (c === 0x28 /* ( */) {
    p.expect('(');
    const keys: SearchKey[] = [parseKey(p, depth + 1)];
    while (!p.take(')')) {
      p.sp();
      keys.push(parseKey(p, depth + 1));
    }
    return keys.length === 1 ? keys[0] : { kind: 'and', keys };
  }
  if ((c >= 0x30 && c <= 0x39) || c === 0x2a /* * */ || c === 0x24 /* $ */) {
    return { kind: 'seq', set: sequenceSet(p) };
  }
  const start = p.pos;
  const word = p.atom().toUpperCase();
  const flag = FLAG_KEYS[word];
  if (flag) return { kind: 'flag', flag: flag[0], present: flag[1] };
  const address = ADDRESS_KEYS[word];
  if (address) {
    p.sp();
    return { kind: 'header', name: address, value: searchString(p) };
  }
  const date = DATE_KEYS[word];
  if (date) {
    p.sp();
    return { kind: 'date', field: date[0], op: date[1], day: searchDate(p) };
  }
  switch (word) {
    case 'ALL':
      return { kind: 'all' };
    case 'RECENT':
      return { kind: 'recent' };
    case 'NEW':
      // RFC 3501 6.4.4: RECENT UNSEEN.
      return { kind: 'and', keys: [{ kind: 'recent' }, { kind: 'flag', flag: '\\Seen', present: false }] };
    case 'OLD':
      return { kind: 'not', key: { kind: 'recent' } };
    case 'KEYWORD':
    case 'UNKEYWORD':
      p.sp();
      return { kind: 'flag', flag: keyword(p), present: word === 'KEYWORD' };
    case 'LARGER':
    case 'SMALLER':
      p.sp();
      return { kind: 'size', op: word === 'LARGER' ? 'larger' : 'smaller', size: p.number() };
    case 'OLDER':
    case 'YOUNGER':
      p.sp();
      return { kind: 'within', op: word === 'OLDER' ? 'older' : 'younger', seconds: p.nzNumber() };
    case 'HEADER': {
      p.sp();
      const name = p.astring();
      if (name.length === 0 || /[\x00-\x20\x7f:]/.test(name)) p.fail('Invalid header field name');
      p.sp();
      return { kind: 'header', name, value: searchString(p) };
    }
    case 'BODY':
    case 'TEXT':
      p.sp();
      return { kind: word === 'BODY' ? 'body' : 'text', value: searchString(p) };
    case 'UID':
      p.sp();
      return { kind: 'uid', set: sequenceSet(p) };
    case 'MODSEQ': {
      // "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      p.sp();
      if (p.peekChar('"')) {
        p.string();
        p.sp();
        const type = p.atom().toLowerCase();
        if (type !== 'priv' && type !== 'shared' && type !== 'all') p.fail('MODSEQ entry type must be priv, shared or all');
        p.sp();
      }
      return { kind: 'modseq', modseq: p.modseq() };
    }
    case 'EMAILID':
    case 'THREADID': {
      p.sp();
      const id = p.atom();
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) p.fail('Invalid object id');
      return word === 'EMAILID' ? { kind: 'emailId', contentId: contentIdOf(id) } : { kind: 'threadId' };
    }
    case 'NOT':
      p.sp();
      return { kind: 'not', key: parseKey(p, depth + 1) };
    case 'OR': {
      p.sp();
      const left = parseKey(p, depth + 1);
      p.sp();
      const right = parseKey(p, depth + 1);
      return { kind: 'or', left, right };
    }
    default:
      p.pos = start;
      p.fail(`Unknown search key ${word.slice(0, 30)}`);
  }
}

/** A sequence set that must end at a delimiter (so "1:4x" is not read as "1:4"). */
function sequenceSet(p: Parser): SequenceSet {
  const set = p.sequenceSet();
  const next = p.peek();
  if (next !== -1 && next !== 0x20 && next !== 0x29) p.fail('Invalid sequence set');
  return set;
}

/**
 * astring, as UTF-8 text (US-ASCII is a subset; other charsets are refused by the command).
 * Atoms are 7-bit by the grammar, but clients do send `SUBJECT köln` unquoted: an atom
 * with 8-bit bytes is taken as UTF-8 too.
 */
function searchString(p: Parser): string {
  if (p.peekChar('"') || p.atLiteral()) return p.string();
  const start = p.pos;
  while (!p.atEnd() && isStringAtomByte(p.peek())) p.pos++;
  if (p.pos === start) p.fail('Expected a string');
  return p.bytes.toString('utf8', start, p.pos);
}

/** ASTRING-CHAR (RFC 9051 9), plus 8-bit bytes. */
function isStringAtomByte(c: number): boolean {
  if (c >= 0x80) return true;
  return c > 0x20 && c < 0x7f && !'(){%*"\\'.includes(String.fromCharCode(c));
}

/**
 * flag-keyword is an atom. A system flag in backslash form is accepted too (some clients
 * send `KEYWORD \Seen`), and matches like the corresponding flag key.
 */
function keyword(p: Parser): string {
  if (p.peekChar('\\')) return p.flag();
  return p.atom(']');
}

/** date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year. */
function searchDate(p: Parser): DayNumber {
  const quoted = p.take('"');
  const start = p.pos;
  const text = p.atom();
  if (quoted) p.expect('"');
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2].toLowerCase()) : -1;
  if (!m || month < 0) {
    p.pos = start;
    p.fail('Invalid date (expected d-Mon-yyyy)');
  }
  const year = Number(m[3]);
  const day = Number(m[1]);
  // Dates roll over (31-Feb becomes 3-Mar): refuse days that do not exist.
  const check = new Date(dayNumber(year, month, day) * 86_400_000);
  if (day < 1 || check.getUTCDate() !== day || check.getUTCMonth() !== month) {
    p.pos = start;
    p.fail('Invalid date (no such day)');
  }
  return dayNumber(year, month, day);
}

/** The day number of a calendar date (years below 100 are taken literally, unlike Date.UTC). */
export function dayNumber(year: number, monthIndex: number, day: number): DayNumber {
  const d = new Date(0);
  d.setUTCFullYear(year, monthIndex, day);
  return Math.floor(d.getTime() / 86_400_000);
}
