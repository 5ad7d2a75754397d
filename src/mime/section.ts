// BODY[section] and BINARY[section] contents: RFC 9051 6.4.5 (RFC 3501 6.4.5), RFC 3516.
//
// Part numbering (RFC 9051 6.4.5): the parts of a message are its multipart's body parts,
// or, for a non-multipart message, the message body itself as part 1. A message/rfc822 part
// N contains a message: N.HEADER / N.TEXT are its header and body, N.1... are its parts.
// Like Dovecot 2.3, message/global is not descended into unless the caller asks for it.

import { decodedBody } from './binary';
import libbase64 from 'libbase64';
import libqp from 'libqp';
import { HeaderField } from './headers';
import { MimePart } from './parse';

export interface SectionSpec {
  part: number[];
  text?: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  fields?: string[];
}

export interface SectionOptions {
  /** Treat message/global (RFC 6532 3.5) as an embedded message, as IMAP4rev2 does. */
  messageGlobal?: boolean;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** The embedded message of `part`, if it counts as one under `opts`. */
export function embeddedMessage(part: MimePart, opts: SectionOptions = {}): MimePart | undefined {
  if (part.message === undefined) return undefined;
  if (!opts.messageGlobal && part.contentType.subtype.toLowerCase() === 'global') return undefined;
  return part.message;
}

/** Finds the part a section's part numbers refer to; `root` for []; null if none. */
export function findPart(root: MimePart, path: readonly number[], opts: SectionOptions = {}): MimePart | null {
  let node = root;
  // What the next number indexes into: a multipart's body parts, or a non-multipart
  // message whose only part (1) is its own body.
  let scope: MimePart | undefined = root;
  for (const n of path) {
    if (scope === undefined || !Number.isInteger(n) || n < 1) return null;
    const next: MimePart | undefined = isMultipart(scope) ? scope.children[n - 1] : n === 1 ? scope : undefined;
    if (next === undefined) return null;
    node = next;
    scope = isMultipart(node) ? node : embeddedMessage(node, opts);
  }
  return node;
}

function isMultipart(part: MimePart): boolean {
  return part.contentType.type.toLowerCase() === 'multipart';
}

/**
 * The bytes of BODY[section], byte-exact from `raw`, or null when the section does not
 * exist (the server then answers an empty string, as Dovecot does).
 */
export function sectionBytes(raw: Buffer, root: MimePart, spec: SectionSpec, opts: SectionOptions = {}): Buffer | null {
  const node = findPart(root, spec.part, opts);
  if (node === null) return null;
  const text = spec.text;
  if (text === undefined) {
    return spec.part.length === 0 ? raw.subarray(0, raw.length) : raw.subarray(node.headerEnd, node.bodyEnd);
  }
  if (text === 'MIME') {
    // RFC 9051 6.4.5: MIME needs a part number; it is that part's own MIME header.
    return spec.part.length === 0 ? null : raw.subarray(node.headerStart, node.headerEnd);
  }
  // HEADER / TEXT refer to a message: the root, or the message inside a message/rfc822 part.
  const msg = spec.part.length === 0 ? root : embeddedMessage(node, opts);
  if (msg === undefined) return null;
  switch (text) {
    case 'HEADER':
      return raw.subarray(msg.headerStart, msg.headerEnd);
    case 'TEXT':
      return raw.subarray(msg.headerEnd, msg.bodyEnd);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return headerFields(raw, msg.headers, spec.fields ?? [], text === 'HEADER.FIELDS.NOT');
    default: {
      const never: never = text;
      return never;
    }
  }
}

/**
 * RFC 9051 6.4.5 HEADER.FIELDS: the matching fields as they are (folding kept), in message
 * order, then the blank line. A last field without a line end gets CRLF (as Dovecot does).
 */
export function headerFields(raw: Buffer, headers: readonly HeaderField[], names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const chunks: Buffer[] = [];
  for (const f of headers) {
    if (f.end <= f.start || wanted.has(f.name.toLowerCase()) === not) continue;
    chunks.push(raw.subarray(f.start, f.end));
    if (raw[f.end - 1] !== 0x0a) chunks.push(CRLF);
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

/** Result of BINARY[section]: decoded bytes, or UNKNOWN-CTE (RFC 3516 4.3). */
export type DecodedSection = { bytes: Buffer } | { error: 'UNKNOWN-CTE' };

/**
 * BINARY[section] (RFC 3516 4.2): the part's body with its Content-Transfer-Encoding
 * removed. [] is the whole message (a message's top level has no CTE of its own to remove
 * unless it is a single part: then, as for [1], the body is decoded). Multipart and message
 * parts (whose own CTE must be an identity one, RFC 2046 5.1, 5.2.1) come with the leaves
 * inside them decoded.
 */
export function decodedSection(raw: Buffer, root: MimePart, part: number[], opts: SectionOptions = {}): DecodedSection | null {
  if (part.length === 0) return { bytes: raw.subarray(0, raw.length) };
  const node = findPart(root, part, opts);
  if (node === null) return null;
  // A multipart or message part keeps its structure with every leaf inside decoded (and
  // its CTE field saying binary), as Dovecot answers; a leaf is decoded by the mechanism as
  // written, not part.encoding (which falls back to 7bit for junk such as "quoted printable").
  if (node.message !== undefined && embeddedMessage(node, opts) === undefined) return { bytes: raw.subarray(node.headerEnd, node.bodyEnd) };
  return decodedBody(raw, node, opts);
}

/** BINARY.SIZE[section]: the decoded length, or the same error / null as decodedSection. */
export function decodedSize(raw: Buffer, root: MimePart, part: number[], opts: SectionOptions = {}): { size: number } | { error: 'UNKNOWN-CTE' } | null {
  const d = decodedSection(raw, root, part, opts);
  if (d === null) return null;
  return 'error' in d ? d : { size: d.bytes.length };
}

/** Removes a Content-Transfer-Encoding (RFC 2045 6); unknown mechanisms are an error. */
export function decodeBody(body: Buffer, encoding: string): DecodedSection {
  switch (encoding.toLowerCase()) {
    case '7bit':
    case '8bit':
    case 'binary':
      return { bytes: body };
    case 'base64':
      return { bytes: libbase64.decode(body.toString('latin1')) };
    case 'quoted-printable':
      return { bytes: libqp.decode(body) };
    default:
      return { error: 'UNKNOWN-CTE' };
  }
}
