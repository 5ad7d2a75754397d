// FETCH data items (RFC 9051 6.4.5 and 9 `fetch-att`, RFC 3501 6.4.5, RFC 3516 BINARY):
// the argument after the sequence set, parsed into a typed list. Pure: no store imports.
import type { Parser } from '../wire/parser';

/** What follows the part numbers inside `[...]` (RFC 9051 9 `section-text`). */
export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/** A body section; the same shape as src/mime/section.ts takes. */
export interface SectionSpec {
  part: number[];
  text?: SectionText;
  /** Field names of HEADER.FIELDS(.NOT), as the client spelled them. */
  fields?: string[];
}

/** `<offset.length>`; length null when the client left it out (Dovecot accepts `<n>`). */
export interface ByteRange {
  offset: number;
  length: number | null;
}

/** One fetch-att. Kinds are switched over exhaustively when answering. */
export type FetchItem =
  | { kind: 'uid' }
  | { kind: 'flags' }
  | { kind: 'internalDate' }
  | { kind: 'rfc822Size' }
  | { kind: 'envelope' }
  /** BODY without a section: the non-extensible BODYSTRUCTURE. */
  | { kind: 'body' }
  | { kind: 'bodyStructure' }
  /**
   * BODY[section]<partial>, BODY.PEEK[...], and RFC822 / RFC822.HEADER / RFC822.TEXT,
   * which are sections under another response name (RFC 3501 6.4.5). `label` is the
   * response item name without the `<offset>` (e.g. `BODY[1.MIME]`, `RFC822.TEXT`).
   */
  | { kind: 'section'; label: string; section: SectionSpec; range: ByteRange | null; peek: boolean }
  /** BINARY[part]<partial> and BINARY.PEEK (RFC 3516 4.2). */
  | { kind: 'binary'; label: string; part: number[]; range: ByteRange | null; peek: boolean }
  /** BINARY.SIZE[part] (RFC 3516 4.2). */
  | { kind: 'binarySize'; label: string; part: number[] }
  /** PREVIEW (RFC 8970); with LAZY the server may answer NIL (memgate always has it). */
  | { kind: 'preview'; lazy: boolean }
  /** CONDSTORE (RFC 7162 3.1.4); parsed only when enabled in FetchItemOptions. */
  | { kind: 'modseq' }
  /** OBJECTID (RFC 8474 5.1); parsed only when enabled in FetchItemOptions. */
  | { kind: 'emailId' }
  /** OBJECTID (RFC 8474 5.2): THREADID. */
  | { kind: 'threadId' };

export type FetchItemKind = FetchItem['kind'];

/** Extensions whose fetch items the parser accepts; off items are "unknown" (BAD). */
export interface FetchItemOptions {
  condstore?: boolean;
  objectId?: boolean;
}

const FAST: FetchItem[] = [{ kind: 'flags' }, { kind: 'internalDate' }, { kind: 'rfc822Size' }];
const ALL: FetchItem[] = [...FAST, { kind: 'envelope' }];
const FULL: FetchItem[] = [...ALL, { kind: 'body' }];

/** The largest part number: a 32-bit nz-number (RFC 9051 9 `nz-number`). */
const MAX_PART = 0xffffffff;

/**
 * Parses `"ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"`.
 * The parser stands at its first byte. Repeated items are answered once (for sections:
 * once per response name; BODY[x] and BODY.PEEK[x] together count as BODY[x]).
 */
export function parseFetchItems(p: Parser, opts: FetchItemOptions = {}): FetchItem[] {
  if (p.take('(')) {
    const items: FetchItem[] = [];
    do items.push(fetchAtt(p, opts));
    while (p.take(' '));
    p.expect(')', '")" or a space and another fetch item');
    return dedupe(items);
  }
  const start = p.pos;
  const name = itemName(p);
  switch (name) {
    case 'ALL':
      return [...ALL];
    case 'FAST':
      return [...FAST];
    case 'FULL':
      return [...FULL];
    default:
      p.pos = start;
      return [fetchAtt(p, opts)];
  }
}

/** The name part of a fetch-att: letters, digits, ".", "-" (up to "[" or a delimiter). */
function itemName(p: Parser): string {
  const start = p.pos;
  while (!p.atEnd()) {
    const c = p.peek();
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d;
    if (!ok) break;
    p.pos++;
  }
  if (p.pos === start) p.fail('Expected a fetch item');
  return p.bytes.toString('latin1', start, p.pos).toUpperCase();
}

function fetchAtt(p: Parser, opts: FetchItemOptions): FetchItem {
  const start = p.pos;
  const name = itemName(p);
  if (p.peekChar('[')) return sectioned(p, name, start);
  switch (name) {
    case 'UID':
      return { kind: 'uid' };
    case 'FLAGS':
      return { kind: 'flags' };
    case 'INTERNALDATE':
      return { kind: 'internalDate' };
    case 'RFC822.SIZE':
      return { kind: 'rfc822Size' };
    case 'ENVELOPE':
      return { kind: 'envelope' };
    case 'BODY':
      return { kind: 'body' };
    case 'BODYSTRUCTURE':
      return { kind: 'bodyStructure' };
    case 'RFC822':
      return { kind: 'section', label: 'RFC822', section: { part: [] }, range: null, peek: false };
    case 'RFC822.HEADER':
      return { kind: 'section', label: 'RFC822.HEADER', section: { part: [], text: 'HEADER' }, range: null, peek: true };
    case 'RFC822.TEXT':
      return { kind: 'section', label: 'RFC822.TEXT', section: { part: [], text: 'TEXT' }, range: null, peek: false };
    case 'PREVIEW':
      return { kind: 'preview', lazy: previewModifiers(p) };
    case 'MODSEQ':
      if (opts.condstore) return { kind: 'modseq' };
      break;
    case 'EMAILID':
      if (opts.objectId) return { kind: 'emailId' };
      break;
    case 'THREADID':
      if (opts.objectId) return { kind: 'threadId' };
      break;
    case 'ALL':
    case 'FAST':
    case 'FULL':
      p.pos = start;
      p.fail(`${name} is a macro and cannot be inside a list`);
  }
  p.pos = start;
  p.fail(`Unknown fetch item ${name.slice(0, 40)}`);
}

/**
 * `[SP "(" preview-mod *(SP preview-mod) ")"]`, preview-mod = "LAZY" (RFC 8970 6). A
 * list that does not start with LAZY is left alone: it is FETCH's modifiers.
 */
function previewModifiers(p: Parser): boolean {
  const start = p.pos;
  if (!p.take(' ') || !p.take('(') || !p.matchWord('LAZY')) {
    p.pos = start;
    return false;
  }
  p.pos = start + 1;
  p.list(() => {
    if (!p.matchWord('LAZY')) p.fail('Unknown PREVIEW modifier');
  });
  return true;
}

/** Items with `[`: BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...], BINARY.SIZE[...]. */
function sectioned(p: Parser, name: string, start: number): FetchItem {
  switch (name) {
    case 'BODY':
    case 'BODY.PEEK': {
      const { section, text } = sectionSpec(p);
      const range = byteRange(p);
      return { kind: 'section', label: `BODY[${text}]`, section, range, peek: name === 'BODY.PEEK' };
    }
    case 'BINARY':
    case 'BINARY.PEEK': {
      const part = binarySection(p);
      const range = byteRange(p);
      return { kind: 'binary', label: `BINARY[${part.join('.')}]`, part, range, peek: name === 'BINARY.PEEK' };
    }
    case 'BINARY.SIZE': {
      const part = binarySection(p);
      if (p.peekChar('<')) p.fail('BINARY.SIZE takes no partial range');
      return { kind: 'binarySize', label: `BINARY.SIZE[${part.join('.')}]`, part };
    }
    default:
      p.pos = start;
      p.fail(`Unknown fetch item ${name.slice(0, 40)}`);
  }
}

/**
 * `"[" [section-spec] "]"` (RFC 9051 9): section-msgtext, or part numbers optionally
 * followed by "." section-text (which adds MIME). Returns the spec and its response text,
 * with HEADER.FIELDS names upper-cased as Dovecot 2.3 echoes them (quoted ones stay quoted).
 */
function sectionSpec(p: Parser): { section: SectionSpec; text: string } {
  p.expect('[');
  const part: number[] = [];
  let keyword: string | null = null;
  if (!p.peekChar(']')) {
    if (isDigit(p.peek())) {
      part.push(partNumber(p));
      while (p.take('.')) {
        if (isDigit(p.peek())) part.push(partNumber(p));
        else {
          keyword = sectionKeyword(p);
          break;
        }
      }
    } else keyword = sectionKeyword(p);
  }
  const section: SectionSpec = { part };
  let text = part.join('.');
  if (keyword !== null) {
    if (keyword === 'MIME' && part.length === 0) p.fail('MIME needs a part number');
    const kw = keyword as SectionText;
    section.text = kw;
    text += (part.length > 0 ? '.' : '') + kw;
    if (kw === 'HEADER.FIELDS' || kw === 'HEADER.FIELDS.NOT') {
      p.sp();
      const names = headerList(p);
      section.fields = names.map((n) => n.name);
      text += ' (' + names.map((n) => n.echo).join(' ') + ')';
    }
  }
  p.expect(']');
  return { section, text };
}

const SECTION_KEYWORDS = new Set(['HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME']);

function sectionKeyword(p: Parser): string {
  const start = p.pos;
  while (!p.atEnd()) {
    const c = p.peek() | 0x20;
    if ((c >= 0x61 && c <= 0x7a) || c === 0x2e) p.pos++;
    else break;
  }
  const word = p.bytes.toString('latin1', start, p.pos).toUpperCase();
  if (!SECTION_KEYWORDS.has(word)) {
    p.pos = start;
    p.fail('Invalid section');
  }
  return word;
}

/** `"(" header-fld-name *(SP header-fld-name) ")"`, names being astrings. */
function headerList(p: Parser): Array<{ name: string; echo: string }> {
  if (!p.peekChar('(')) p.fail('Expected a list of header field names');
  const names = p.list(() => {
    const quotedForm = p.peekChar('"') || p.atLiteral();
    const name = quotedForm ? p.stringBytes().toString('latin1') : p.atom();
    // RFC 5322 2.2: printable US-ASCII except ":".
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) p.fail('Invalid header field name');
    const upper = name.toUpperCase();
    const echo = quotedForm ? '"' + upper.replace(/[\\"]/g, (c) => '\\' + c) + '"' : upper;
    return { name, echo };
  });
  if (names.length === 0) p.fail('Empty list of header field names');
  return names;
}

/** `"[" [section-part] "]"` of BINARY (RFC 3516 4.2: no HEADER/TEXT/MIME). */
function binarySection(p: Parser): number[] {
  p.expect('[');
  const part: number[] = [];
  if (!p.peekChar(']')) {
    part.push(partNumber(p));
    while (p.take('.')) part.push(partNumber(p));
  }
  p.expect(']', '"]" (BINARY takes part numbers only)');
  return part;
}

function partNumber(p: Parser): number {
  if (!isDigit(p.peek())) p.fail('Expected a part number');
  const n = p.number();
  if (n === 0 || n > MAX_PART) p.fail('Invalid part number');
  return n;
}

/**
 * `"<" number64 "." nz-number64 ">"`. Dovecot also takes a zero length (answered empty)
 * and a missing one (to the end); so do we, since clients tested against it may send them.
 */
function byteRange(p: Parser): ByteRange | null {
  if (!p.take('<')) return null;
  const offset = p.number();
  let length: number | null = null;
  if (p.take('.')) length = p.number();
  p.expect('>');
  return { offset, length };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** One item per response name: BODY.PEEK[x] with BODY[x] becomes BODY[x] (not peeking). */
function dedupe(items: FetchItem[]): FetchItem[] {
  const out: FetchItem[] = [];
  const at = new Map<string, number>();
  for (const item of items) {
    const key = itemKey(item);
    const i = at.get(key);
    if (i === undefined) {
      at.set(key, out.length);
      out.push(item);
      continue;
    }
    const kept = out[i];
    const peeks = (kept.kind === 'section' || kept.kind === 'binary') && (item.kind === 'section' || item.kind === 'binary');
    if (peeks && !item.peek && kept.peek) {
      out[i] = { ...kept, peek: false };
    }
  }
  return out;
}

/** The response item name an item is answered under (with its partial offset). */
export function itemKey(item: FetchItem): string {
  switch (item.kind) {
    case 'section':
    case 'binary':
      return item.range ? `${item.label}<${item.range.offset}.${item.range.length ?? ''}>` : item.label;
    case 'binarySize':
      return item.label;
    default:
      return item.kind;
  }
}

/** What answering a list of items needs, to load no more than that. */
export interface FetchNeeds {
  /** ENVELOPE, BODY or BODYSTRUCTURE: the cached content summary is enough. */
  summary: boolean;
  /** A section or BINARY item: the raw message (and its MIME tree) is needed. */
  content: boolean;
  /** Some item sets \Seen (non-PEEK BODY[...], RFC822, RFC822.TEXT, BINARY[...]). */
  setsSeen: boolean;
}

/**
 * Items that a message's top-level header section answers (with the view's own data): a
 * backend message whose body is not fetched yet answers them from its header alone.
 */
export function answeredFromHeader(item: FetchItem): boolean {
  switch (item.kind) {
    case 'uid':
    case 'flags':
    case 'internalDate':
    case 'rfc822Size':
    case 'modseq':
    case 'emailId':
    case 'threadId':
    case 'envelope':
      return true;
    case 'section':
      return item.section.part.length === 0 && (item.section.text === 'HEADER' || item.section.text === 'HEADER.FIELDS' || item.section.text === 'HEADER.FIELDS.NOT');
    default:
      return false;
  }
}

export function fetchNeeds(items: readonly FetchItem[]): FetchNeeds {
  const needs: FetchNeeds = { summary: false, content: false, setsSeen: false };
  for (const item of items) {
    switch (item.kind) {
      case 'envelope':
      case 'body':
      case 'bodyStructure':
      case 'preview':
        needs.summary = true;
        break;
      case 'section':
      case 'binary':
        needs.content = true;
        if (!item.peek) needs.setsSeen = true;
        break;
      case 'binarySize':
        needs.content = true;
        break;
      case 'uid':
      case 'flags':
      case 'internalDate':
      case 'rfc822Size':
      case 'modseq':
      case 'emailId':
      case 'threadId':
        break;
      default: {
        const never: never = item;
        return never;
      }
    }
  }
  return needs;
}
