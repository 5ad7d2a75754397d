// APPEND at Exchange. Creating a message from MIME makes a draft (isDraft true: Outlook shows
// and opens it as one), and isDraft cannot be cleared afterwards. The way Graph leaves to
// create a message that is not a draft is JSON create with PR_MESSAGE_FLAGS (Integer 0x0E07)
// set without MSGFLAG_UNSENT. So an appended message is created:
//  - with \Draft: from its MIME (a real draft, editable in Outlook, the bytes as given);
//  - otherwise: as JSON built from its MIME (subject, addresses, Message-ID, importance, the
//    HTML or text body, attachments), with the dates as MAPI properties (delivery time from
//    the APPEND date, submit time from Date:) and the flags (read, flag, categories,
//    \Answered/$Forwarded) in the same request.
// Exchange writes its own MIME for a JSON-created message, which loses what JSON cannot say
// (other header fields, the MIME structure, signatures). IMAP clients never see that copy:
// the appended bytes stay in the shadow store as the content of the client's UID, and the
// Exchange message is bound to that UID as the same message, never fetched.
// A message too large for one JSON request (Graph takes 4 MB) is created from MIME: at
// Exchange it is then a draft.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { parseAddressList } from '../../src/mime/address';
import { type MimePart, parseMessage } from '../../src/mime/parse';
import { decodeBody } from '../../src/mime/section';
import { decodeWords, headerText, partText } from '../../src/mime/text';
import { categoryKeyword, verbProperties, VERB_FLAGS } from './mapping';

/** PR_MESSAGE_FLAGS bits (MS-OXCMSG 2.2.1.6). */
const MSGFLAG_READ = 0x1;
/** JSON requests above this many bytes go as MIME (Graph refuses request bodies over 4 MB). */
export const JSON_CREATE_LIMIT = 3_500_000;

export type AppendRequest =
  /** POST base64 MIME (text/plain): a draft. */
  | { kind: 'mime'; body: string }
  /** POST JSON: not a draft. */
  | { kind: 'json'; body: MicrosoftGraph.Message };

function recipients(values: readonly string[]): MicrosoftGraph.Recipient[] {
  const out: MicrosoftGraph.Recipient[] = [];
  for (const value of values) {
    for (const a of parseAddressList(value)) {
      if (!a.mailbox || !a.host || a.host === 'MISSING_DOMAIN' || a.mailbox === 'MISSING_MAILBOX') continue;
      const address = `${a.mailbox}@${a.host}`;
      out.push({ emailAddress: { address, ...(a.name ? { name: decodeWords(a.name) } : {}) } });
    }
  }
  return out;
}

function leaves(part: MimePart, out: MimePart[] = []): MimePart[] {
  if (part.children.length > 0) for (const c of part.children) leaves(c, out);
  else out.push(part);
  return out;
}

const isText = (p: MimePart, subtype: string): boolean => p.contentType.type.toLowerCase() === 'text' && p.contentType.subtype.toLowerCase() === subtype;

function attachmentName(p: MimePart): string {
  const param = (params: ReadonlyArray<readonly [string, string]> | undefined, name: string): string | undefined => params?.find(([k]) => k.toLowerCase() === name)?.[1];
  const name = param(p.disposition?.params, 'filename') ?? param(p.contentType.params, 'name');
  return name ? decodeWords(name) : p.message ? 'message.eml' : 'attachment';
}

function isISO(d: Date): boolean {
  return !Number.isNaN(d.getTime());
}

/** How to create this appended message at Exchange (see the top of the file). */
export function appendRequest(raw: Buffer, flags: readonly string[], internalDate?: Date): AppendRequest {
  if (flags.includes('\\Draft')) return { kind: 'mime', body: raw.toString('base64') };
  const root = parseMessage(raw);
  const h = (name: string): string[] => headerText(raw, root, name);
  const parts = leaves(root);
  // The first HTML or text part that is not an attachment is the body; every other part with
  // content is an attachment (inline ones keep their Content-ID for cid: references).
  const bodyPart = parts.find((p) => p.disposition?.value.toLowerCase() !== 'attachment' && (isText(p, 'html') || isText(p, 'plain')));
  const html = parts.find((p) => p !== bodyPart && isText(p, 'html') && p.disposition?.value.toLowerCase() !== 'attachment');
  const chosen = bodyPart && isText(bodyPart, 'plain') && html ? html : bodyPart;
  const alternative = new Set(parts.filter((p) => p !== chosen && p.disposition === null && (isText(p, 'plain') || isText(p, 'html'))));
  const attachments: MicrosoftGraph.FileAttachment[] = [];
  for (const p of parts) {
    if (p === chosen || alternative.has(p) || p.children.length > 0) continue;
    const body = raw.subarray(p.headerEnd, p.bodyEnd);
    const decoded = p.message ? { bytes: body } : decodeBody(body, p.encoding);
    const bytes = 'bytes' in decoded ? decoded.bytes : body;
    const cid = p.id?.replace(/^<|>$/g, '');
    attachments.push({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: attachmentName(p),
      contentType: `${p.contentType.type}/${p.contentType.subtype}`.toLowerCase(),
      contentBytes: bytes.toString('base64'),
      isInline: p.disposition?.value.toLowerCase() === 'inline' || (cid !== undefined && p.disposition === null),
      ...(cid ? { contentId: cid } : {}),
    } as MicrosoftGraph.FileAttachment);
  }
  const prio = (h('importance')[0] ?? h('x-priority')[0] ?? '').toLowerCase();
  const sent = new Date(h('date')[0] ?? '');
  const extended: MicrosoftGraph.SingleValueLegacyExtendedProperty[] = [
    { id: 'Integer 0x0E07', value: String(flags.includes('\\Seen') ? MSGFLAG_READ : 0) },
  ];
  if (internalDate && isISO(internalDate)) extended.push({ id: 'SystemTime 0x0E06', value: internalDate.toISOString() });
  if (isISO(sent)) extended.push({ id: 'SystemTime 0x0039', value: sent.toISOString() });
  if (VERB_FLAGS.some((f) => flags.includes(f))) extended.push(...verbProperties(flags, flags, new Date()));
  const from = recipients(h('from'))[0];
  const sender = recipients(h('sender'))[0];
  const messageId = h('message-id')[0]?.trim();
  const message: MicrosoftGraph.Message = {
    subject: h('subject')[0] ?? '',
    body: chosen ? { contentType: isText(chosen, 'html') ? 'html' : 'text', content: partText(raw, chosen) } : { contentType: 'text', content: '' },
    toRecipients: recipients(h('to')),
    ccRecipients: recipients(h('cc')),
    bccRecipients: recipients(h('bcc')),
    replyTo: recipients(h('reply-to')),
    ...(from ? { from } : {}),
    ...(sender ? { sender } : {}),
    ...(messageId ? { internetMessageId: messageId } : {}),
    importance: /high|^[12]\b/.test(prio) ? 'high' : /low|^[45]\b/.test(prio) ? 'low' : 'normal',
    isRead: flags.includes('\\Seen'),
    flag: { flagStatus: flags.includes('\\Flagged') ? 'flagged' : 'notFlagged' },
    categories: flags.filter((f) => !f.startsWith('\\') && !VERB_FLAGS.includes(f) && categoryKeyword(f) !== null),
    ...(attachments.length > 0 ? { attachments } : {}),
    singleValueExtendedProperties: extended,
  };
  const size = Buffer.byteLength(JSON.stringify(message));
  if (size > JSON_CREATE_LIMIT) return { kind: 'mime', body: raw.toString('base64') };
  return { kind: 'json', body: message };
}
