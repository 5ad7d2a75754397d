// Structured MIME header values: Content-Type (RFC 2045 5.1), Content-Disposition
// (RFC 2183), Content-Language (RFC 3282), Content-Transfer-Encoding (RFC 2045 6.1),
// parameters with RFC 2231 continuations. Values are binary strings (one char per byte).
//
// Parameters are kept the way Dovecot 2.3 reports them in BODYSTRUCTURE, since that is what
// IMAP clients see: names keep their case, plain parameters come first in header order,
// RFC 2231 parameters follow, merged per name (`name*` with the still-encoded
// "charset'lang'%XX" value when any segment was extended), or left unmerged when their
// indexes are not exactly 0..n-1. Use decodeParam() for the text a user should see.

import { Cursor, cursor, peek, readQuoted, readToken, skipCFWS } from './lex';

export type Param = [string, string];

export interface ContentType {
  type: string;
  subtype: string;
  params: Param[];
}

export interface Disposition {
  value: string;
  params: Param[];
}

/**
 * Parses `type/subtype *(";" param)`. An unparsable type gives type and subtype '' (what
 * Dovecot reports; RFC 2045 5.2 would say text/plain, but clients compare with Dovecot).
 * A type without "/subtype" keeps the type with subtype ''.
 */
export function parseContentType(value: string): ContentType {
  const c = cursor(value);
  skipCFWS(c);
  const type = readToken(c);
  skipCFWS(c);
  let subtype = '';
  if (type !== '' && peek(c) === '/') {
    c.i++;
    skipCFWS(c);
    subtype = readToken(c);
    if (subtype === '') return { type: '', subtype: '', params: [] };
  } else if (type === '' || (peek(c) !== ';' && peek(c) !== '')) {
    return { type: '', subtype: '', params: [] };
  }
  return { type, subtype, params: parseParams(c) };
}

/** RFC 2183: `disposition-type *(";" param)`; a non-token type gives ''. */
export function parseDisposition(value: string): Disposition {
  const c = cursor(value);
  skipCFWS(c);
  const type = readToken(c);
  return { value: type, params: type === '' ? [] : parseParams(c) };
}

/** RFC 3282: a comma-separated list of language tags (comments ignored). */
export function parseLanguage(value: string): string[] {
  const c = cursor(value);
  const out: string[] = [];
  for (;;) {
    skipCFWS(c);
    const tag = readToken(c);
    if (tag !== '') out.push(tag);
    skipCFWS(c);
    if (peek(c) === ',') c.i++;
    else if (tag === '') break;
    else if (peek(c) !== '') break;
  }
  return out;
}

/**
 * RFC 2045 6.1: the mechanism token, comments and whitespace removed; '' when absent or
 * when anything else follows it ("quoted printable", "text/html", "base64;"), which
 * Dovecot then reports as 7bit.
 */
export function parseEncoding(value: string): string {
  const c = cursor(value);
  skipCFWS(c);
  const token = readToken(c);
  skipCFWS(c);
  return c.i < c.s.length ? '' : token;
}

interface Rfc2231Segment {
  key: string;
  index: number;
  extended: boolean;
  value: string;
}

/** Parses `*(";" attribute "=" value)` from the cursor; broken parameters are skipped. */
function parseParams(c: Cursor): Param[] {
  const plain: Param[] = [];
  const segments: Rfc2231Segment[] = [];
  while (c.i < c.s.length) {
    skipCFWS(c);
    if (peek(c) !== ';') {
      if (!skipTo(c, ';')) break;
    }
    c.i++; // ';'
    skipCFWS(c);
    const name = readToken(c);
    skipCFWS(c);
    if (name === '' || peek(c) !== '=') continue;
    c.i++;
    skipCFWS(c);
    let value: string;
    if (peek(c) === '"') {
      const q = readQuoted(c);
      if (!q.closed) break;
      value = q.value;
    } else if (c.s.startsWith('=?', c.i)) {
      // Broken but common: an unquoted encoded word (name==?utf-8?B?...?=); Dovecot keeps it.
      const m = /[^; \t\r\n]*/y;
      m.lastIndex = c.i;
      value = (m.exec(c.s) ?? [''])[0];
      c.i += value.length;
    } else {
      value = readToken(c);
      if (value === '') continue;
    }
    const seg = rfc2231Segment(name, value);
    if (seg) segments.push(seg);
    else plain.push([name, value]);
  }
  return plain.concat(mergeSegments(segments));
}

function skipTo(c: Cursor, ch: string): boolean {
  const j = c.s.indexOf(ch, c.i);
  if (j < 0) {
    c.i = c.s.length;
    return false;
  }
  c.i = j;
  return true;
}

/** RFC 2231 3-4: `name*`, `name*N`, `name*N*`; anything else is a plain parameter. */
function rfc2231Segment(name: string, value: string): Rfc2231Segment | null {
  const m = /^([^*]*)\*(?:([0-9]+)(\*)?)?$/.exec(name);
  if (!m) return null;
  if (m[2] === undefined) return { key: m[1], index: 0, extended: true, value };
  return { key: m[1], index: parseInt(m[2], 10), extended: m[3] === '*', value };
}

/** Merges continuation segments (RFC 2231 3) the way Dovecot 2.3 does; see file comment. */
function mergeSegments(segments: Rfc2231Segment[]): Param[] {
  if (segments.length === 0) return [];
  const sorted = segments
    .map((seg, order) => ({ seg, order }))
    .sort((a, b) => cmp(a.seg.key, b.seg.key) || a.seg.index - b.seg.index || a.order - b.order)
    .map((x) => x.seg);
  const out: Param[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let complete = true;
    let extended = false;
    const lower = sorted[i].key.toLowerCase();
    while (j < sorted.length && sorted[j].key.toLowerCase() === lower) {
      if (sorted[j].index !== j - i) complete = false;
      if (sorted[j].extended) extended = true;
      j++;
    }
    if (!complete) {
      for (let k = i; k < j; k++) {
        const s = sorted[k];
        out.push([`${s.key}*${s.index}${s.extended ? '*' : ''}`, s.value]);
      }
    } else {
      let value = !sorted[i].extended && extended ? "''" : '';
      for (let k = i; k < j; k++) {
        const s = sorted[k];
        value += !s.extended && extended ? s.value.replace(/%/g, '%25') : s.value;
      }
      out.push([extended ? sorted[i].key + '*' : sorted[i].key, value]);
    }
    i = j;
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First parameter with this name (ASCII case-insensitive), exact key match. */
export function getParam(params: readonly Param[], name: string): string | undefined {
  const lower = name.toLowerCase();
  const p = params.find(([k]) => k.toLowerCase() === lower);
  return p ? p[1] : undefined;
}

/**
 * A parameter's value for display: RFC 2231 `name*` values are percent-decoded into their
 * charset's text (charset'lang'%XX, decoded as UTF-8 here; text.ts converts charsets).
 * Returns the raw bytes (binary string) and the declared charset, if any.
 */
export function rawParam(params: readonly Param[], name: string): { bytes: string; charset?: string } | undefined {
  const plain = getParam(params, name);
  if (plain !== undefined) return { bytes: plain };
  const ext = getParam(params, name + '*');
  if (ext === undefined) return undefined;
  const m = /^([^']*)'[^']*'(.*)$/s.exec(ext);
  const encoded = m ? m[2] : ext;
  const bytes = encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return m && m[1] !== '' ? { bytes, charset: m[1] } : { bytes };
}
