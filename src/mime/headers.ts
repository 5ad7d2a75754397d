// Header block parsing (RFC 5322 2.2, 2.2.3 unfolding; RFC 2045 for MIME fields).
// Works on raw bytes with offsets so that BODY[HEADER.FIELDS] can copy original lines.

/**
 * One header field as it appears in the message.
 * `value` is the unfolded field body (line ends removed, RFC 5322 2.2.3; WSP after the colon
 * on the first line and the final line end dropped) as a *binary string*: one char per byte (latin1), so 8-bit
 * bytes survive exactly; `Buffer.from(value, 'latin1')` gives the original bytes back.
 * `start`/`end` are offsets of the whole field (name through its last line end) in the raw
 * message, so folded lines can be copied byte-exact.
 */
export interface HeaderField {
  name: string;
  value: string;
  start: number;
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Offset where the body begins: after the blank line, or `limit` when there is none. */
  bodyStart: number;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;

/** Offset just after the line end of the line containing `pos` (or `limit`). */
function lineEnd(raw: Buffer, pos: number, limit: number): number {
  const i = raw.indexOf(LF, pos);
  return i < 0 || i >= limit ? limit : i + 1;
}

/** True when raw[pos..] is an empty line (CRLF or LF) within limit. */
function isBlankLine(raw: Buffer, pos: number, limit: number): boolean {
  if (pos >= limit) return false;
  if (raw[pos] === LF) return true;
  return raw[pos] === CR && pos + 1 < limit && raw[pos + 1] === LF;
}

/**
 * Parses the header block starting at `start`, ending at the first empty line (RFC 5322 2.1).
 * Tolerant: LF-only line ends, bare CR kept as data, lines without a colon become fields
 * with that line as the name and an empty value, a missing blank line makes the whole range
 * a header. `stopLine` is asked about lines starting with "--" (boundaries of enclosing
 * multiparts); when it says yes the header ends there. Never throws.
 */
export function parseHeaderBlock(
  raw: Buffer,
  start: number,
  limit: number,
  stopLine?: (pos: number) => boolean,
): HeaderBlock & { stoppedAt?: number } {
  const fields: HeaderField[] = [];
  let pos = start;
  while (pos < limit) {
    // A MIME boundary line ends an unterminated part header (RFC 2046 5.1.1 tolerance).
    if (stopLine && raw[pos] === 0x2d && raw[pos + 1] === 0x2d && stopLine(pos)) {
      return { fields, bodyStart: pos, stoppedAt: pos };
    }
    if (isBlankLine(raw, pos, limit)) {
      return { fields, bodyStart: raw[pos] === LF ? pos + 1 : pos + 2 };
    }
    // A field: its first line, then any continuation lines starting with WSP.
    const fieldStart = pos;
    let end = lineEnd(raw, pos, limit);
    while (end < limit && (raw[end] === SP || raw[end] === HT)) end = lineEnd(raw, end, limit);
    fields.push(makeField(raw, fieldStart, end));
    pos = end;
  }
  return { fields, bodyStart: limit };
}

function makeField(raw: Buffer, start: number, end: number): HeaderField {
  const text = raw.toString('latin1', start, end);
  const colon = text.indexOf(':');
  const firstLineEnd = text.indexOf('\n');
  if (colon < 0 || (firstLineEnd >= 0 && colon > firstLineEnd)) {
    return { name: unfold(text).trim(), value: '', start, end };
  }
  // RFC 5322 4.5.2 (obsolete syntax) allows WSP between the name and the colon.
  const name = text.slice(0, colon).replace(/[ \t]+$/, '');
  // Leading WSP of the first line is not part of the value; that of folded lines is.
  const value = unfold(text.slice(colon + 1).replace(/^[ \t]+/, ''));
  return { name, value, start, end };
}

/** RFC 5322 2.2.3: remove line ends (CRLF or bare LF) from a folded field body. */
export function unfold(text: string): string {
  return text.replace(/\r?\n/g, '');
}

/** First field with this name (case-insensitive), or undefined. */
export function findField(fields: readonly HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower);
}

/** All fields with this name (case-insensitive), in order. */
export function findFields(fields: readonly HeaderField[], name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === lower);
}
