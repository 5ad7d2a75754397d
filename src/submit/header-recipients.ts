// For backends that take the recipients from the message instead of an envelope (Graph
// sendMail, Gmail messages.send: "sends to the recipients in the To, Cc and Bcc headers").
// SMTP's envelope decides who gets a message (RFC 5321 2.3.1; RFC 6409 8.1: Bcc recipients
// are only in the envelope), so the two are reconciled: an envelope recipient named in no
// To/Cc/Bcc field is added as Bcc (the backend removes Bcc from what it delivers and keeps it
// in its Sent copy), and a header recipient missing from the envelope cannot be left out
// through such a backend: the message is refused at submission rather than over-delivered.
// The Message-ID lets such a backend find a message it already sent (its Sent copy).
import { MISSING_DOMAIN, MISSING_MAILBOX, parseAddressList, SYNTAX_ERROR } from '../mime/address';
import { findField, findFields, parseHeaderBlock } from '../mime/headers';
import type { Envelope } from './ports';

const RECIPIENT_FIELDS = ['To', 'Cc', 'Bcc'];

/** The addresses in the To, Cc and Bcc fields (group names and broken entries left out). */
export function headerRecipients(raw: Buffer): string[] {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const out: string[] = [];
  for (const name of RECIPIENT_FIELDS) {
    for (const field of findFields(fields, name)) {
      for (const a of parseAddressList(field.value)) {
        if (!a.mailbox || !a.host || a.mailbox === MISSING_MAILBOX || a.host === MISSING_DOMAIN || a.host === SYNTAX_ERROR) continue;
        // Binary strings (one char per byte): UTF-8 addresses (RFC 6532) compare as text.
        out.push(Buffer.from(`${a.mailbox}@${a.host}`, 'latin1').toString('utf8'));
      }
    }
  }
  return out;
}

const key = (address: string): string => address.toLowerCase();

/** Header recipients the envelope does not name (the backend would deliver to them too). */
export function notInEnvelope(raw: Buffer, envelope: Pick<Envelope, 'recipients'>): string[] {
  const wanted = new Set(envelope.recipients.map((r) => key(r.address)));
  return [...new Set(headerRecipients(raw).filter((a) => !wanted.has(key(a))))];
}

/** The message with every envelope recipient it does not name added to its Bcc field. */
export function withEnvelopeRecipients(raw: Buffer, envelope: Pick<Envelope, 'recipients'>): Buffer {
  const named = new Set(headerRecipients(raw).map(key));
  const blind: string[] = [];
  for (const r of envelope.recipients) {
    if (named.has(key(r.address))) continue;
    named.add(key(r.address));
    blind.push(r.address);
  }
  if (blind.length === 0) return raw;
  const { fields, bodyStart } = parseHeaderBlock(raw, 0, raw.length);
  const headerText = raw.toString('latin1', 0, bodyStart);
  const eol = headerText.includes('\r\n') || !headerText.includes('\n') ? '\r\n' : '\n';
  const existing = findFields(fields, 'Bcc')[0];
  const before = existing ? Buffer.from(existing.value, 'latin1').toString('utf8').trim() : '';
  const field = Buffer.from(fold(`Bcc: ${[...(before ? [before] : []), ...blind.map((a) => `<${a}>`)].join(', ')}`, eol) + eol, 'utf8');
  if (existing) return Buffer.concat([raw.subarray(0, existing.start), field, raw.subarray(existing.end)]);
  // Before the blank line that ends the header (or at the end of a message without one).
  const blankAt = blankLineStart(raw, bodyStart);
  if (blankAt !== null) return Buffer.concat([raw.subarray(0, blankAt), field, raw.subarray(blankAt)]);
  const needsEol = raw.length > 0 && raw[raw.length - 1] !== 0x0a;
  return Buffer.concat([raw, Buffer.from(needsEol ? eol : ''), field, Buffer.from(eol)]);
}

/** Where the empty line before `bodyStart` begins, or null when the header has none. */
function blankLineStart(raw: Buffer, bodyStart: number): number | null {
  if (bodyStart >= 2 && raw[bodyStart - 1] === 0x0a && raw[bodyStart - 2] === 0x0d) {
    if (bodyStart === 2 || raw[bodyStart - 3] === 0x0a) return bodyStart - 2;
  }
  if (bodyStart >= 1 && raw[bodyStart - 1] === 0x0a && (bodyStart === 1 || raw[bodyStart - 2] === 0x0a)) return bodyStart - 1;
  return null;
}

/** Folds after commas so that lines stay under 78 characters where possible (RFC 5322 2.2.3). */
function fold(line: string, eol: string): string {
  const parts = line.split(', ');
  let out = parts[0]!;
  let width = out.length;
  for (const part of parts.slice(1)) {
    if (width + 2 + part.length > 76) {
      out += `,${eol} ${part}`;
      width = 1 + part.length;
    } else {
      out += `, ${part}`;
      width += 2 + part.length;
    }
  }
  return out;
}

/** The msg-id of the Message-ID field, without its angle brackets; null when there is none. */
export function messageIdOf(raw: Buffer): string | null {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const field = findField(fields, 'Message-ID');
  const m = field ? /<([^<>\s]+)>/.exec(field.value) : null;
  return m ? Buffer.from(m[1]!, 'latin1').toString('utf8') : null;
}
