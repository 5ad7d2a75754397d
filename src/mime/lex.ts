// Lexical helpers shared by structured-header parsers: RFC 5322 3.2.2 (CFWS, comments),
// 3.2.4 (quoted-string), RFC 2045 5.1 (token, tspecials). All work on binary strings.

export interface Cursor {
  s: string;
  i: number;
  /** Text of the comments skipped so far (outermost parentheses removed), in order. */
  comments: string[];
}

export function cursor(s: string): Cursor {
  return { s, i: 0, comments: [] };
}

const WSP = /[ \t\r\n]/;

/** Skips whitespace and (nested) comments; an unterminated comment runs to the end. */
export function skipCFWS(c: Cursor): void {
  const { s } = c;
  while (c.i < s.length) {
    const ch = s[c.i];
    if (WSP.test(ch)) {
      c.i++;
    } else if (ch === '(') {
      let depth = 0;
      let text = '';
      for (; c.i < s.length; c.i++) {
        const x = s[c.i];
        if (x === '\\' && c.i + 1 < s.length) {
          if (depth > 0) text += s[c.i + 1];
          c.i++;
          continue;
        }
        if (x === '(') {
          if (depth > 0) text += x;
          depth++;
        } else if (x === ')') {
          depth--;
          if (depth === 0) {
            c.i++;
            break;
          }
          text += x;
        } else {
          text += x;
        }
      }
      c.comments.push(text);
    } else {
      return;
    }
  }
}

/** Reads a quoted-string at the cursor (which must be on '"'); unterminated = to the end. */
export function readQuoted(c: Cursor): { value: string; closed: boolean } {
  const { s } = c;
  let value = '';
  c.i++; // opening quote
  while (c.i < s.length) {
    const ch = s[c.i++];
    if (ch === '"') return { value, closed: true };
    if (ch === '\\' && c.i < s.length) value += s[c.i++];
    else if (ch !== '\r' && ch !== '\n') value += ch;
  }
  return { value, closed: false };
}

/** RFC 2045 5.1 tspecials, plus SP/CTLs, end a token (8-bit bytes are tolerated). */
const MIME_TOKEN = /[^\x00-\x20\x7f()<>@,;:\\"/[\]?=]+/y;

/** Reads an RFC 2045 token; '' when none is at the cursor. */
export function readToken(c: Cursor): string {
  MIME_TOKEN.lastIndex = c.i;
  const m = MIME_TOKEN.exec(c.s);
  if (!m) return '';
  c.i += m[0].length;
  return m[0];
}

export function peek(c: Cursor): string {
  return c.i < c.s.length ? c.s[c.i] : '';
}
