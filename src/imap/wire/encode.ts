// Serialization of IMAP data items (RFC 9051 4.3 strings, 9 formal syntax).
// Pure functions: no store imports.

/** A value that must be sent as a literal, with its exact bytes. */
export class Literal {
  constructor(readonly bytes: Buffer, readonly binary = false) {}
}

/** Text (or bytes) already in wire syntax, sent as is. */
export class Raw {
  constructor(readonly text: string) {}
}

/**
 * Items written back to back with no space between them: the grammar wants that for the
 * addresses of an ENVELOPE address list and the parts of a multipart body (RFC 9051 9).
 */
export class Concat {
  constructor(readonly items: WireValue[]) {}
}

export type WireValue = string | number | null | Literal | Raw | Concat | WireValue[];

const QUOTED_SAFE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

/**
 * A string as a quoted string when it can be one (7-bit, no CR/LF, not too long), else a
 * literal. `utf8` allows 8-bit characters in quoted strings (IMAP4rev2 / UTF8=ACCEPT).
 */
export function quoteString(value: string, utf8 = false): string | Literal {
  const ok = utf8 ? !/[\r\n\0]/.test(value) : QUOTED_SAFE.test(value);
  if (ok && value.length <= 1024) {
    return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
  }
  return new Literal(Buffer.from(value, 'utf8'));
}

/** nstring: NIL for null/undefined. */
export function nstring(value: string | null | undefined, utf8 = false): string | Literal {
  return value === null || value === undefined ? 'NIL' : quoteString(value, utf8);
}

/** astring: an atom when the text is a plain atom, else a quoted string or literal. */
export function astring(value: string, utf8 = false): string | Literal {
  if (/^[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/.test(value)) return value;
  return quoteString(value, utf8);
}

/** Serializes a value to chunks: strings and literal Buffers (with their {n} prefix). */
export function serialize(value: WireValue, out: Array<string | Buffer> = []): Array<string | Buffer> {
  if (value === null) out.push('NIL');
  else if (typeof value === 'number') out.push(String(value));
  else if (typeof value === 'string') out.push(value);
  else if (value instanceof Raw) out.push(value.text);
  else if (value instanceof Concat) for (const item of value.items) serialize(item, out);
  else if (value instanceof Literal) {
    out.push((value.binary ? '~{' : '{') + value.bytes.length + '}\r\n');
    out.push(value.bytes);
  } else {
    out.push('(');
    value.forEach((item, i) => {
      if (i > 0) out.push(' ');
      serialize(item, out);
    });
    out.push(')');
  }
  return out;
}

/** Joins chunks into one Buffer (for tests and small responses). */
export function toBuffer(chunks: Array<string | Buffer>): Buffer {
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
}
