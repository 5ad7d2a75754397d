// The decoded form of a MIME entity for BINARY (RFC 3516) and URLFETCH BINARY (RFC 5524):
// a leaf loses its Content-Transfer-Encoding; a multipart or an encapsulated message keeps
// its own bytes (prologue, boundaries, headers) with every leaf inside decoded and its
// Content-Transfer-Encoding field saying "binary", as Dovecot answers. Encapsulated
// messages are descended into as BODY[section] numbers them (embeddedMessage).
import type { HeaderField } from './headers';
import type { MimePart } from './parse';
import { decodeBody, embeddedMessage, type DecodedSection, type SectionOptions } from './section';

function cteField(part: MimePart): HeaderField | undefined {
  return part.headers.find((h) => h.name.toLowerCase() === 'content-transfer-encoding');
}

/** The mechanism as written (not part.encoding, which falls back to 7bit for junk). */
function writtenEncoding(field: HeaderField | undefined): string {
  return field === undefined ? '7bit' : field.value.replace(/\([^)]*\)/g, '').trim();
}

function innerParts(part: MimePart, opts: SectionOptions): MimePart[] {
  const message = embeddedMessage(part, opts);
  return message ? [message] : part.children;
}

/** The part's body decoded; inner leaves of multiparts and messages decoded in place. */
export function decodedBody(raw: Buffer, part: MimePart, opts: SectionOptions = {}): DecodedSection {
  const children = innerParts(part, opts);
  if (children.length === 0) return decodeBody(raw.subarray(part.headerEnd, part.bodyEnd), writtenEncoding(cteField(part)));
  const out: Buffer[] = [];
  let at = part.headerEnd;
  for (const child of children) {
    const entity = decodedEntity(raw, child, opts);
    if ('error' in entity) return entity;
    out.push(raw.subarray(at, child.headerStart), entity.bytes);
    at = child.bodyEnd;
  }
  out.push(raw.subarray(at, part.bodyEnd));
  return { bytes: Buffer.concat(out) };
}

/** Header and body of a part, decoded: an encoded leaf's CTE field is rewritten to binary. */
function decodedEntity(raw: Buffer, part: MimePart, opts: SectionOptions): DecodedSection {
  const body = decodedBody(raw, part, opts);
  if ('error' in body) return body;
  const field = cteField(part);
  const leaf = innerParts(part, opts).length === 0;
  if (!leaf || field === undefined || ['7bit', '8bit', 'binary'].includes(writtenEncoding(field).toLowerCase())) {
    return { bytes: Buffer.concat([raw.subarray(part.headerStart, part.headerEnd), body.bytes]) };
  }
  // Keep the field's own line end: only its name and value are replaced.
  const ending = /\r?\n$/.exec(raw.subarray(field.start, field.end).toString('latin1'))?.[0] ?? '';
  return {
    bytes: Buffer.concat([
      raw.subarray(part.headerStart, field.start),
      Buffer.from(`Content-Transfer-Encoding: binary${ending}`, 'latin1'),
      raw.subarray(field.end, part.headerEnd),
      body.bytes,
    ]),
  };
}
