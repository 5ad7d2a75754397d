// RFC 5322 3.4 address lists (with 4.4 obsolete forms), tolerant, for IMAP ENVELOPE
// (RFC 9051 7.5.2). Works on binary strings; encoded words (RFC 2047) are left as they are.
//
// Like Dovecot 2.3, an address without a mailbox or domain gets "MISSING_MAILBOX" /
// "MISSING_DOMAIN" (a NIL host would mean group syntax to the client), an empty list member
// followed by another one is shown as such a placeholder (RFC 5322 4.4 would drop it), an
// unclosed <addr> gets host "SYNTAX_ERROR", a display name falls back to a comment, and
// parsing stops at the first error, keeping what came before.

import { Cursor, cursor, peek, readQuoted, skipCFWS } from './lex';

/** One ENVELOPE address; group start is {mailbox: group name, host: null}, group end all null. */
export interface Address {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

export const MISSING_MAILBOX = 'MISSING_MAILBOX';
export const MISSING_DOMAIN = 'MISSING_DOMAIN';
export const SYNTAX_ERROR = 'SYNTAX_ERROR';

interface Word {
  text: string;
  quoted: boolean;
}

/** RFC 5322 atext (plus '.', for dot-atoms and obs-phrase), 8-bit bytes allowed (RFC 6532). */
const ATOM = /[^\x00-\x20\x7f()<>[\]:;@\\,"]+/y;

function readAtom(c: Cursor): string {
  ATOM.lastIndex = c.i;
  const m = ATOM.exec(c.s);
  if (!m) return '';
  c.i += m[0].length;
  return m[0];
}

/** A sequence of atoms and quoted strings (a phrase, or a local-part). */
function readWords(c: Cursor): Word[] {
  const words: Word[] = [];
  for (;;) {
    skipCFWS(c);
    if (peek(c) === '"') {
      words.push({ text: readQuoted(c).value, quoted: true });
      continue;
    }
    const atom = readAtom(c);
    if (atom === '') return words;
    words.push({ text: atom, quoted: false });
  }
}

/** A domain: dot-atoms (CFWS around dots tolerated) or a domain literal, '' if none. */
function readDomain(c: Cursor): string {
  skipCFWS(c);
  if (peek(c) === '[') {
    const end = c.s.indexOf(']', c.i);
    const lit = end < 0 ? c.s.slice(c.i) : c.s.slice(c.i, end + 1);
    c.i = end < 0 ? c.s.length : end + 1;
    return lit.replace(/[\r\n]/g, '');
  }
  // Atoms joined by dots; CFWS around the dots is obsolete but allowed (RFC 5322 4.4).
  let domain = readAtom(c);
  for (;;) {
    const save = c.i;
    skipCFWS(c);
    const ch = peek(c);
    if (domain === '' || !(domain.endsWith('.') || ch === '.')) {
      c.i = save;
      break;
    }
    const atom = readAtom(c);
    if (atom === '') break;
    domain += atom;
  }
  return /^\.|\.$|\.\./.test(domain) ? '' : domain;
}

/** obs-route (RFC 5322 4.4): "@a,@b:" before the addr-spec in angle brackets. */
function readRoute(c: Cursor): string | null {
  const domains: string[] = [];
  for (;;) {
    skipCFWS(c);
    if (peek(c) === ',') {
      c.i++;
      continue;
    }
    if (peek(c) !== '@') break;
    c.i++;
    domains.push('@' + readDomain(c));
  }
  if (domains.length === 0) return null;
  skipCFWS(c);
  if (peek(c) === ':') c.i++;
  return domains.join(',');
}

/** True when consecutive words are separated by dots (a dot-atom or obs-local-part). */
function dotJoined(words: Word[]): boolean {
  for (let i = 1; i < words.length; i++) {
    if (!words[i - 1].text.endsWith('.') && !words[i].text.startsWith('.')) return false;
  }
  return true;
}

function phrase(words: Word[]): string | null {
  const text = words.map((w) => w.text).join(' ');
  return text === '' ? null : text;
}

function commentName(c: Cursor): string | null {
  const first = c.comments.find((t) => t.trim() !== '');
  return first === undefined ? null : first.trim();
}

/** A mailbox after its leading words were read; null on a syntax error. */
function finishMailbox(c: Cursor, words: Word[]): Address | null {
  const ch = peek(c);
  if (ch === '<') {
    c.i++;
    const adl = readRoute(c);
    const local = readWords(c).map((w) => w.text).join('');
    let host = '';
    skipCFWS(c);
    if (peek(c) === '@') {
      c.i++;
      host = readDomain(c);
    }
    skipCFWS(c);
    let closed = false;
    if (peek(c) === '>') {
      c.i++;
      closed = true;
    }
    skipCFWS(c);
    const name = phrase(words) ?? commentName(c);
    if (!closed) {
      // Dovecot's marker for a broken angle-addr; parsing stops after it.
      c.i = c.s.length;
      return { name, adl, mailbox: local || MISSING_MAILBOX, host: SYNTAX_ERROR };
    }
    return { name, adl, mailbox: local || MISSING_MAILBOX, host: host || MISSING_DOMAIN };
  }
  if (ch === '@' && !dotJoined(words)) {
    // "Big Bug bb@bug.com": words without dots between them are no local-part (RFC 5322
    // 3.4.1); Dovecot shows the phrase as a name without an address and stops there.
    c.i = c.s.length;
    return { name: phrase(words), adl: null, mailbox: MISSING_MAILBOX, host: MISSING_DOMAIN };
  }
  if (ch === '@') {
    c.i++;
    const host = readDomain(c);
    skipCFWS(c);
    const local = words.map((w) => w.text).join('');
    return { name: commentName(c), adl: null, mailbox: local || MISSING_MAILBOX, host: host || MISSING_DOMAIN };
  }
  if (words.length === 0) return null;
  if (words.length === 1 && !words[0].quoted) {
    return { name: commentName(c), adl: null, mailbox: words[0].text, host: MISSING_DOMAIN };
  }
  return { name: phrase(words), adl: null, mailbox: MISSING_MAILBOX, host: MISSING_DOMAIN };
}

function missing(): Address {
  return { name: null, adl: null, mailbox: MISSING_MAILBOX, host: MISSING_DOMAIN };
}

/** RFC 5322 3.4 address-list. Never throws. */
export function parseAddressList(value: string): Address[] {
  const c = cursor(value);
  const out: Address[] = [];
  for (;;) {
    skipCFWS(c);
    if (c.i >= c.s.length) break;
    if (peek(c) === ',') {
      // An empty member before another one (obs-addr-list, RFC 5322 4.4): Dovecot shows it.
      out.push(missing());
      c.i++;
      continue;
    }
    c.comments = [];
    const words = readWords(c);
    if (peek(c) === ':' && words.length > 0) {
      c.i++;
      if (!parseGroup(c, words, out)) break;
    } else {
      const addr = finishMailbox(c, words);
      if (addr === null) break;
      out.push(addr);
    }
    skipCFWS(c);
    if (peek(c) === ',') c.i++;
    else break; // end, or an error: keep what was parsed (as Dovecot does)
  }
  return out;
}

/** RFC 5322 3.4 group: display-name ":" [group-list] ";" (the ';' may be missing at the end). */
function parseGroup(c: Cursor, words: Word[], out: Address[]): boolean {
  out.push({ name: null, adl: null, mailbox: phrase(words) ?? '', host: null });
  let ok = true;
  for (;;) {
    skipCFWS(c);
    const ch = peek(c);
    if (ch === '' || ch === ';') {
      if (ch === ';') c.i++;
      break;
    }
    if (ch === ',') {
      out.push(missing());
      c.i++;
      continue;
    }
    c.comments = [];
    const addr = finishMailbox(c, readWords(c));
    if (addr === null) {
      ok = false;
      break;
    }
    out.push(addr);
    skipCFWS(c);
    if (peek(c) === ',') c.i++;
    else if (peek(c) !== ';' && peek(c) !== '') {
      ok = false;
      break;
    }
  }
  out.push({ name: null, adl: null, mailbox: null, host: null });
  return ok;
}
