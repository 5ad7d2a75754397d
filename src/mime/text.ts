// Decoded text for SEARCH (RFC 9051 6.4.4): header values with encoded words decoded
// (RFC 2047; raw 8-bit as UTF-8, RFC 6532), and the text of every text/* body part with its
// Content-Transfer-Encoding (RFC 2045 6) and charset (RFC 2046 4.1.2) removed.

import { isUtf8 } from 'node:buffer';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset';
import { getParam } from './content-type';
import { MimePart } from './parse';
import { decodeBody } from './section';

/** Raw header bytes (a binary string) as text: UTF-8 when valid (RFC 6532), else latin1. */
export function bytesToText(binary: string): string {
  if (/^[\x00-\x7f]*$/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : binary;
}

/** Each occurrence of a header field, decoded to a JS (UTF-16) string, in message order. */
export function headerText(raw: Buffer, root: MimePart, name: string): string[] {
  void raw;
  const lower = name.toLowerCase();
  return root.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => decodeWords(bytesToText(h.value)));
}

/** RFC 2047 encoded words decoded; the text is returned as it is if decoding fails. */
export function decodeWords(text: string): string {
  if (!text.includes('=?')) return text;
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

/**
 * The text of all text/* parts (including those inside attached messages), decoded, joined
 * with newlines. Other parts (images, applications) contribute nothing.
 */
export function bodyText(raw: Buffer, root: MimePart): string {
  const out: string[] = [];
  collect(raw, root, out);
  return out.join('\n');
}

function collect(raw: Buffer, part: MimePart, out: string[]): void {
  if (part.children.length > 0) {
    for (const c of part.children) collect(raw, c, out);
    return;
  }
  if (part.message !== undefined) {
    collect(raw, part.message, out);
    return;
  }
  if (part.contentType.type.toLowerCase() !== 'text') return;
  out.push(partText(raw, part));
}

/** One leaf part's body as text (unknown transfer encodings are read as they are). */
export function partText(raw: Buffer, part: MimePart): string {
  const body = raw.subarray(part.headerEnd, part.bodyEnd);
  const decoded = decodeBody(body, part.encoding);
  const bytes = 'bytes' in decoded ? decoded.bytes : body;
  const charset = getParam(part.contentType.params, 'charset') ?? 'us-ascii';
  const lower = charset.toLowerCase();
  if (lower === 'us-ascii' || lower === 'ascii' || lower === 'utf-8' || lower === 'utf8') {
    // Many "us-ascii" parts really hold UTF-8; it is the best guess for 8-bit bytes.
    return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
  }
  try {
    return decodeCharset(bytes, charset);
  } catch {
    return bytes.toString('utf8');
  }
}
