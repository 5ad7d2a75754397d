// FETCH BODY / BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2), shaped like Dovecot 2.3:
// - type and subtype as written in the header (not upper-cased), always quoted;
// - RFC 2045 defaults: no Content-Type gives "text" "plain" ("charset" "us-ascii"), a text
//   part without charset gets ("charset" "us-ascii") appended; an unparsable Content-Type
//   gives "" "" (Dovecot's practice; RFC 2045 5.2 would say text/plain);
// - parameters in the order content-type.ts keeps them (RFC 2231 values not decoded);
// - a multipart without any body part (no boundary, or no delimiter found) is shown with
//   one empty text/plain part, since the grammar needs at least one (1*body);
// - message/global is a leaf unless `messageGlobal` is set (Dovecot 2.3 does not descend
//   into it; RFC 9051 treats it like message/rfc822);
// - body parts of a multipart follow each other without a space, as the grammar says
//   (body-type-mpart = 1*body SP media-subtype).

import { MimePart, Param } from '../../mime/parse';
import { embeddedMessage } from '../../mime/section';
import { Concat, type WireValue } from '../wire/encode';
import { envelope, nwireText, wireText } from './envelope';

export interface BodyStructureOptions {
  /** UTF8=ACCEPT / IMAP4rev2: 8-bit UTF-8 text may go in quoted strings. */
  utf8?: boolean;
  /** Treat message/global as an embedded message (RFC 9051 7.5.2). */
  messageGlobal?: boolean;
}

/**
 * BODYSTRUCTURE when `extended`, else the non-extensible BODY form. Only the tree is read
 * (sizes, line counts and header values are kept in it): `raw` may be an empty Buffer.
 */
export function bodyStructure(raw: Buffer, root: MimePart, extended: boolean, opts: BodyStructureOptions = {}): WireValue {
  return body(raw, root, extended, opts);
}

const EMPTY_TEXT_PART = ['"text"', '"plain"', ['"charset"', '"us-ascii"'], null, null, '"7bit"', 0, 0];

function body(raw: Buffer, part: MimePart, extended: boolean, opts: BodyStructureOptions): WireValue {
  const utf8 = opts.utf8 ?? false;
  if (part.contentType.type.toLowerCase() === 'multipart') {
    const children: WireValue[] =
      part.children.length > 0
        ? part.children.map((c) => body(raw, c, extended, opts))
        : [extended ? [...EMPTY_TEXT_PART, null, null, null, null] : EMPTY_TEXT_PART];
    const out: WireValue[] = [...glue(children), wireText(part.contentType.subtype, utf8)];
    if (extended) {
      out.push(params(part.contentType.params, utf8), disposition(part, utf8), language(part, utf8), nwireText(part.location, utf8));
    }
    return out;
  }
  const out: WireValue[] = [
    wireText(part.contentType.type, utf8),
    wireText(part.contentType.subtype, utf8),
    params(part.contentType.params, utf8),
    nwireText(part.id, utf8),
    nwireText(part.description, utf8),
    wireText(part.encoding, utf8),
    part.bodySize,
  ];
  const inner = embeddedMessage(part, { messageGlobal: opts.messageGlobal });
  if (inner !== undefined) {
    out.push(envelope(raw, inner, utf8), body(raw, inner, extended, opts), part.bodyLines);
  } else if (part.contentType.type.toLowerCase() === 'text') {
    out.push(part.bodyLines);
  }
  if (extended) {
    out.push(nwireText(part.md5, utf8), disposition(part, utf8), language(part, utf8), nwireText(part.location, utf8));
  }
  return out;
}

function params(list: readonly Param[], utf8: boolean): WireValue {
  if (list.length === 0) return null;
  const out: WireValue[] = [];
  for (const [k, v] of list) out.push(wireText(k, utf8), wireText(v, utf8));
  return out;
}

function disposition(part: MimePart, utf8: boolean): WireValue {
  const d = part.disposition;
  return d === null ? null : [wireText(d.value, utf8), params(d.params, utf8)];
}

function language(part: MimePart, utf8: boolean): WireValue {
  return part.language === null ? null : part.language.map((l) => wireText(l, utf8));
}

/** body-type-mpart = 1*body SP media-subtype: the parts follow each other with no space. */
function glue(children: WireValue[]): WireValue[] {
  return [new Concat(children)];
}
