// MIME structure parser: RFC 5322 (message format), RFC 2045 (MIME headers and defaults),
// RFC 2046 5.1 (multipart boundaries), RFC 2046 5.2.1 / RFC 6532 3.5 (embedded messages).
//
// The result is a plain object tree of byte offsets into the raw message, serializable to
// JSON so that the IMAP layer can cache it with the message. It never throws: broken input
// gets the structure a tolerant reader (Dovecot 2.3) would give it.
//
// Boundary matching follows RFC 2046 5.1.1 with Dovecot's tolerance: a delimiter is a line
// starting with "--" + boundary; whatever follows on that line is ignored; when several
// enclosing boundaries match, the longest wins (innermost on ties); the line end before a
// delimiter belongs to the delimiter; preamble and epilogue belong to no part; a missing
// close delimiter ends the multipart at the enclosing one (or the end of the message).

import { ContentType, Disposition, getParam, parseContentType, parseDisposition, parseEncoding, parseLanguage } from './content-type';
import { HeaderField, findField, parseHeaderBlock } from './headers';

export type { ContentType, Disposition, Param } from './content-type';
export type { HeaderField } from './headers';

export interface MimePart {
  /** Offset of the first header byte. */
  headerStart: number;
  /** Offset where the body begins (after the blank line that ends the header). */
  headerEnd: number;
  /** Offset just after the last body byte (the line end before a delimiter excluded). */
  bodyEnd: number;
  headers: HeaderField[];
  /** With RFC 2045 5.2 defaults applied: text/plain; charset=us-ascii, or message/rfc822
   * inside multipart/digest (RFC 2046 5.1.5); a text type without charset gets us-ascii. */
  contentType: ContentType;
  /** Content-Transfer-Encoding as written ('7bit' when absent or empty, RFC 2045 6.1). */
  encoding: string;
  id: string | null;
  description: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  md5: string | null;
  /** Body parts of a multipart (empty when no delimiter was found). */
  children: MimePart[];
  /** The encapsulated message of a message/rfc822 or message/global part. */
  message?: MimePart;
  /** Number of line ends (LF, with or without CR) in the body. */
  bodyLines: number;
  /** Body length in bytes. */
  bodySize: number;
}

/** Limits against hostile nesting (Dovecot uses the same orders of magnitude). */
const MAX_DEPTH = 100;
const MAX_PARTS = 10000;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const NL_DASHES = Buffer.from('\n--', 'latin1');

interface Hit {
  /** Offset of the "--" that starts the delimiter line. */
  lineStart: number;
  /** Index into the boundary stack of the multipart this delimiter belongs to. */
  level: number;
  close: boolean;
  /** Offset after the delimiter line's line end. */
  next: number;
}

class Parser {
  private readonly boundaries: Buffer[] = [];
  private parts = 0;

  constructor(private readonly raw: Buffer) {}

  /** The delimiter at `pos` (a line start beginning with "--"), if any. */
  private boundaryAt(pos: number): Hit | null {
    const { raw, boundaries } = this;
    if (raw[pos] !== DASH || raw[pos + 1] !== DASH) return null;
    let level = -1;
    let len = -1;
    for (let l = boundaries.length - 1; l >= 0; l--) {
      const b = boundaries[l];
      if (b.length > len && pos + 2 + b.length <= raw.length && raw.compare(b, 0, b.length, pos + 2, pos + 2 + b.length) === 0) {
        level = l;
        len = b.length;
      }
    }
    if (level < 0) return null;
    const after = pos + 2 + len;
    const close = raw[after] === DASH && raw[after + 1] === DASH;
    const lf = raw.indexOf(LF, after);
    return { lineStart: pos, level, close, next: lf < 0 ? raw.length : lf + 1 };
  }

  /** The first delimiter line at or after `from` (a line start). */
  private findBoundary(from: number): Hit | null {
    if (this.boundaries.length === 0) return null;
    let pos = from;
    for (;;) {
      const hit = this.boundaryAt(pos);
      if (hit) return hit;
      const nl = this.raw.indexOf(NL_DASHES, pos);
      if (nl < 0) return null;
      pos = nl + 1;
    }
  }

  /** Where content before a delimiter at `lineStart` ends: its line end belongs to it. */
  private contentEnd(lineStart: number, floor: number): number {
    let end = lineStart;
    if (end > floor && this.raw[end - 1] === LF) {
      end--;
      if (end > floor && this.raw[end - 1] === CR) end--;
    }
    return end;
  }

  /**
   * Parses one entity (header and body) from `start`. Returns the delimiter that ended it,
   * and `blankEnd` when a delimiter right after its blank line took that line's line end:
   * the offset where the blank line ended, which still counts for an enclosing message part.
   */
  parseEntity(start: number, inDigest: boolean, depth: number): { part: MimePart; hit: Hit | null; blankEnd?: number } {
    const raw = this.raw;
    this.parts++;
    const stop: { hit: Hit | null } = { hit: null };
    const block = parseHeaderBlock(raw, start, raw.length, (pos) => (stop.hit = this.boundaryAt(pos)) !== null);
    const part = describe(block.fields, inDigest);
    part.headerStart = start;
    if (stop.hit !== null) {
      // The header was cut short by a delimiter: no blank line, no body.
      const hit = stop.hit;
      const end = this.contentEnd(hit.lineStart, start);
      for (const f of part.headers) f.end = Math.min(f.end, end);
      part.headerEnd = part.bodyEnd = end;
      return { part, hit };
    }
    const bodyStart = block.bodyStart;
    part.headerEnd = bodyStart;
    let hit: Hit | null;
    const type = part.contentType.type.toLowerCase();
    const subtype = part.contentType.subtype.toLowerCase();
    const deeper = depth < MAX_DEPTH && this.parts < MAX_PARTS;
    const boundary = getParam(part.contentType.params, 'boundary');
    if (type === 'multipart' && deeper && boundary !== undefined && boundary !== '') {
      hit = this.parseMultipart(part, bodyStart, Buffer.from(boundary, 'latin1'), subtype === 'digest', depth);
    } else if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && deeper) {
      const inner = this.parseEntity(bodyStart, false, depth + 1);
      part.message = inner.part;
      hit = inner.hit;
      part.bodyEnd = inner.blankEnd ?? inner.part.bodyEnd;
    } else {
      hit = this.findBoundary(bodyStart);
      part.bodyEnd = hit ? this.contentEnd(hit.lineStart, bodyStart) : raw.length;
    }
    if (hit && hit.lineStart === bodyStart && bodyStart > start && part.message === undefined) {
      // A delimiter right after the blank line takes that line's line end (RFC 2046 5.1.1),
      // leaving the header without its blank line and the body empty (as Dovecot has it).
      part.headerEnd = part.bodyEnd = this.contentEnd(bodyStart, start);
      finishBody(raw, part);
      return { part, hit, blankEnd: bodyStart };
    }
    finishBody(raw, part);
    return { part, hit };
  }

  private parseMultipart(part: MimePart, bodyStart: number, boundary: Buffer, digest: boolean, depth: number): Hit | null {
    const level = this.boundaries.length;
    this.boundaries.push(boundary);
    let hit = this.findBoundary(bodyStart); // skips the preamble
    while (hit && hit.level === level && !hit.close && this.parts < MAX_PARTS) {
      const child = this.parseEntity(hit.next, digest, depth + 1);
      part.children.push(child.part);
      hit = child.hit;
    }
    this.boundaries.length = level;
    if (hit && hit.level === level) {
      // Close delimiter (or too many parts): the rest up to an enclosing delimiter is epilogue.
      hit = this.findBoundary(hit.next);
    }
    part.bodyEnd = hit ? this.contentEnd(hit.lineStart, bodyStart) : this.raw.length;
    return hit;
  }
}

/** Builds a part (offsets filled in later) from its header fields, with RFC 2045 defaults. */
function describe(headers: HeaderField[], inDigest: boolean): MimePart {
  const value = (name: string): string | null => findField(headers, name)?.value ?? null;
  const ctValue = value('content-type');
  let contentType: ContentType;
  if (ctValue === null) {
    contentType = inDigest
      ? { type: 'message', subtype: 'rfc822', params: [] }
      : { type: 'text', subtype: 'plain', params: [] };
  } else {
    contentType = parseContentType(ctValue);
  }
  if (contentType.type.toLowerCase() === 'text' && getParam(contentType.params, 'charset') === undefined) {
    contentType.params.push(['charset', 'us-ascii']);
  }
  const cte = value('content-transfer-encoding');
  const dispValue = value('content-disposition');
  const langValue = value('content-language');
  const lang = langValue === null ? [] : parseLanguage(langValue);
  return {
    headerStart: 0,
    headerEnd: 0,
    bodyEnd: 0,
    headers,
    contentType,
    encoding: (cte === null ? '' : parseEncoding(cte)) || '7bit',
    id: trimmed(value('content-id')),
    description: value('content-description'),
    disposition: dispValue === null ? null : parseDisposition(dispValue),
    language: lang.length > 0 ? lang : null,
    location: trimmed(value('content-location')),
    md5: trimmed(value('content-md5')),
    children: [],
    bodyLines: 0,
    bodySize: 0,
  };
}

function trimmed(v: string | null): string | null {
  return v === null ? null : v.trim();
}

function finishBody(raw: Buffer, part: MimePart): void {
  part.bodySize = part.bodyEnd - part.headerEnd;
  part.bodyLines = countLines(raw, part.headerEnd, part.bodyEnd);
}

/** Number of LF bytes in raw[start, end). */
export function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let i = raw.indexOf(LF, start);
  while (i >= 0 && i < end) {
    n++;
    i = raw.indexOf(LF, i + 1);
  }
  return n;
}

/** Parses a whole message. Never throws on any input. */
export function parseMessage(raw: Buffer): MimePart {
  return new Parser(raw).parseEntity(0, false, 0).part;
}

/** True for the types whose body is an embedded message (RFC 2046 5.2.1, RFC 6532 3.5). */
export function isMessagePart(part: MimePart): part is MimePart & { message: MimePart } {
  return part.message !== undefined;
}

/** The parse tree as JSON text, for caching with the message. */
export function toJSON(root: MimePart): string {
  return JSON.stringify(root);
}

/** Reads a tree written by toJSON(); throws TypeError when the text is not one. */
export function fromJSON(text: string): MimePart {
  const value: unknown = JSON.parse(text);
  if (!looksLikePart(value)) throw new TypeError('not a serialized MimePart');
  return value;
}

function looksLikePart(v: unknown): v is MimePart {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return (
    typeof p.headerStart === 'number' &&
    typeof p.headerEnd === 'number' &&
    typeof p.bodyEnd === 'number' &&
    Array.isArray(p.headers) &&
    Array.isArray(p.children) &&
    typeof p.contentType === 'object' &&
    p.children.every(looksLikePart) &&
    (p.message === undefined || looksLikePart(p.message))
  );
}

