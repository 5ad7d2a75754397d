// FETCH ENVELOPE (RFC 9051 7.5.2, RFC 3501 7.4.2), matching Dovecot 2.3:
// - date, subject, in-reply-to, message-id: the raw field body, unfolded (encoded words and
//   8-bit bytes as they are); the last occurrence wins; an absent field is NIL.
// - subject and display names are "for humans": runs of SP/HT/CR/LF become one space and
//   leading/trailing ones go (Dovecot's imap_append_string_for_humans).
// - address fields: all occurrences' addresses together; an empty list is NIL; sender and
//   reply-to default to from when absent or empty (RFC 9051 7.5.2).

import { isUtf8 } from 'node:buffer';
import { Address, parseAddressList } from '../../mime/address';
import { HeaderField } from '../../mime/headers';
import { MimePart } from '../../mime/parse';
import { Concat, Literal, WireValue, quoteString } from '../wire/encode';

const ASCII = /^[\x00-\x7f]*$/;

/**
 * A binary string (one char per byte, as MimePart headers hold them) as an IMAP string.
 * 7-bit text is quoted when it can be; 8-bit bytes go out unchanged in a literal, or, with
 * `utf8` (UTF8=ACCEPT / IMAP4rev2) and valid UTF-8, as a UTF-8 quoted string. NUL, which
 * no IMAP string may hold, becomes 0x80 (as Dovecot does).
 */
export function wireText(value: string, utf8 = false): string | Literal {
  const s = value.includes('\0') ? value.replace(/\0/g, '\x80') : value;
  if (ASCII.test(s)) return quoteString(s);
  const bytes = Buffer.from(s, 'latin1');
  if (utf8 && isUtf8(bytes)) return quoteString(bytes.toString('utf8'), true);
  return new Literal(bytes);
}

/** nstring form of wireText. */
export function nwireText(value: string | null | undefined, utf8 = false): string | Literal {
  return value === null || value === undefined ? 'NIL' : wireText(value, utf8);
}

/** Whitespace runs as one space, trimmed (for subject and display names). */
export function forHumans(value: string | null): string | null {
  return value === null ? null : value.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}

function lastValue(headers: readonly HeaderField[], name: string): string | null {
  let v: string | null = null;
  for (const h of headers) if (h.name.toLowerCase() === name) v = h.value;
  return v;
}

function addresses(headers: readonly HeaderField[], name: string): Address[] {
  const out: Address[] = [];
  for (const h of headers) if (h.name.toLowerCase() === name) out.push(...parseAddressList(h.value));
  return out;
}

function addressList(list: Address[], utf8: boolean): WireValue {
  if (list.length === 0) return null;
  // env-from = "(" 1*address ")": addresses follow each other with no space.
  return [new Concat(list.map((a) => [nwireText(forHumans(a.name), utf8), nwireText(a.adl, utf8), nwireText(a.mailbox, utf8), nwireText(a.host, utf8)]))];
}

/**
 * The ENVELOPE of the message whose header is `root`'s (or of an embedded message).
 * Only the tree is read (header values are kept in it): `raw` may be an empty Buffer.
 */
export function envelope(raw: Buffer, root: MimePart, utf8 = false): WireValue {
  void raw; // offsets are not needed: header values are kept in the tree
  const h = root.headers;
  const from = addresses(h, 'from');
  const sender = addresses(h, 'sender');
  const replyTo = addresses(h, 'reply-to');
  return [
    nwireText(lastValue(h, 'date'), utf8),
    nwireText(forHumans(lastValue(h, 'subject')), utf8),
    addressList(from, utf8),
    addressList(sender.length > 0 ? sender : from, utf8),
    addressList(replyTo.length > 0 ? replyTo : from, utf8),
    addressList(addresses(h, 'to'), utf8),
    addressList(addresses(h, 'cc'), utf8),
    addressList(addresses(h, 'bcc'), utf8),
    nwireText(lastValue(h, 'in-reply-to'), utf8),
    nwireText(lastValue(h, 'message-id'), utf8),
  ];
}
