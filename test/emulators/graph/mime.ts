// MIME as Exchange treats it: properties read out of a message (subject, addresses, body,
// preview), MIME bodies of requests (base64 text, as Graph requires), MIME composed from a
// JSON message, and the re-rendering that makes each $value fetch differ in its boundaries
// (Exchange stores items, not bytes, and writes fresh MIME every time).
import { randomBytes } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Address, MISSING_DOMAIN, MISSING_MAILBOX, parseAddressList } from '../../../src/mime/address';
import { getParam } from '../../../src/mime/content-type';
import { MimePart, parseMessage } from '../../../src/mime/parse';
import { decodeWords, headerText, partText } from '../../../src/mime/text';
import { GraphError } from './http';

export interface MimeSummary {
  subject: string;
  from?: MicrosoftGraph.Recipient;
  sender?: MicrosoftGraph.Recipient;
  toRecipients: MicrosoftGraph.Recipient[];
  ccRecipients: MicrosoftGraph.Recipient[];
  bccRecipients: MicrosoftGraph.Recipient[];
  replyTo: MicrosoftGraph.Recipient[];
  internetMessageId: string;
  sentDateTime?: string;
  hasAttachments: boolean;
  body: MicrosoftGraph.ItemBody;
  bodyPreview: string;
  importance: MicrosoftGraph.Importance;
  internetMessageHeaders: MicrosoftGraph.InternetMessageHeader[];
  /** Message-IDs this one replies to (In-Reply-To, References), for conversationId. */
  references: string[];
}

function recipients(values: string[]): MicrosoftGraph.Recipient[] {
  const out: MicrosoftGraph.Recipient[] = [];
  for (const value of values) {
    for (const a of parseAddressList(value)) {
      const r = recipient(a);
      if (r !== undefined) out.push(r);
    }
  }
  return out;
}

function recipient(a: Address): MicrosoftGraph.Recipient | undefined {
  if (a.mailbox === null || a.host === null || a.mailbox === MISSING_MAILBOX || a.host === MISSING_DOMAIN) return undefined;
  const address = `${a.mailbox}@${a.host}`;
  return { emailAddress: { name: a.name !== null ? decodeWords(a.name) : address, address } };
}

function leaves(part: MimePart, out: MimePart[] = []): MimePart[] {
  if (part.children.length > 0) for (const c of part.children) leaves(c, out);
  else out.push(part);
  return out;
}

function isAttachment(p: MimePart): boolean {
  return p.disposition?.value.toLowerCase() === 'attachment' || p.message !== undefined;
}

function preview(body: MicrosoftGraph.ItemBody): string {
  let t = body.content ?? '';
  if (body.contentType === 'html') t = t.replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ');
  return t.replace(/\s+/g, ' ').trim().slice(0, 255);
}

export function summarize(raw: Buffer): MimeSummary {
  const root = parseMessage(raw);
  const h = (name: string): string[] => headerText(raw, root, name);
  const texts = leaves(root).filter((p) => p.contentType.type.toLowerCase() === 'text' && !isAttachment(p));
  const html = texts.find((p) => p.contentType.subtype.toLowerCase() === 'html');
  const plain = texts.find((p) => p.contentType.subtype.toLowerCase() === 'plain');
  const chosen = html ?? plain;
  const body: MicrosoftGraph.ItemBody = chosen === undefined ? { contentType: 'text', content: '' } : { contentType: chosen === html ? 'html' : 'text', content: partText(raw, chosen) };
  const date = h('date')[0];
  const parsedDate = date !== undefined ? new Date(date) : undefined;
  const prio = (h('importance')[0] ?? h('x-priority')[0] ?? '').toLowerCase();
  const importance: MicrosoftGraph.Importance = /high|^[12]\b/.test(prio) ? 'high' : /low|^[45]\b/.test(prio) ? 'low' : 'normal';
  const from = recipients(h('from'))[0];
  const sender = recipients(h('sender'))[0] ?? from;
  const refs = [...h('in-reply-to'), ...h('references')].join(' ').match(/<[^>]+>/g) ?? [];
  return {
    subject: h('subject')[0] ?? '',
    from,
    sender,
    toRecipients: recipients(h('to')),
    ccRecipients: recipients(h('cc')),
    bccRecipients: recipients(h('bcc')),
    replyTo: recipients(h('reply-to')),
    internetMessageId: (h('message-id')[0] ?? '').trim(),
    sentDateTime: parsedDate !== undefined && !Number.isNaN(parsedDate.getTime()) ? isoSeconds(parsedDate) : undefined,
    hasAttachments: leaves(root).some(isAttachment),
    body,
    bodyPreview: preview(body),
    importance,
    internetMessageHeaders: root.headers.map((f) => ({ name: f.name, value: decodeWords(f.value) })),
    references: refs,
  };
}

export function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** A MIME request body: base64 text (Graph's rule), decoded; 400 as Graph words it otherwise. */
export function decodeMimeRequest(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (text === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new GraphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  }
  const raw = Buffer.from(text, 'base64');
  if (raw.length === 0 || parseMessage(raw).headers.length === 0) {
    throw new GraphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  }
  return raw;
}

function boundaries(part: MimePart, out: Set<string>): void {
  const b = getParam(part.contentType.params, 'boundary');
  if (part.children.length > 0 && b !== undefined && b !== '') out.add(b);
  for (const c of part.children) boundaries(c, out);
  if (part.message !== undefined) boundaries(part.message, out);
}

/**
 * The stored message written afresh, as Exchange does on every $value: each multipart
 * boundary replaced by a new one of a different length. Same parts, same content.
 */
export function rerender(raw: Buffer): Buffer {
  const found = new Set<string>();
  boundaries(parseMessage(raw), found);
  if (found.size === 0) return raw;
  let s = raw.toString('latin1');
  // Longest first, through placeholders, so that a boundary that is a prefix of another is safe.
  const list = [...found].sort((a, b) => b.length - a.length);
  const marks = list.map((_, i) => `\u0000${i}\u0000`);
  list.forEach((b, i) => {
    s = s.split(b).join(marks[i]);
  });
  list.forEach((_, i) => {
    const fresh = `_00${i}_${randomBytes(6 + Math.floor(Math.random() * 12)).toString('hex')}_`;
    s = s.split(marks[i]).join(fresh);
  });
  return Buffer.from(s, 'latin1');
}

function addressOf(r: MicrosoftGraph.Recipient | null | undefined): { name: string; address: string } | undefined {
  const a = r?.emailAddress?.address;
  return a ? { name: r?.emailAddress?.name ?? '', address: a } : undefined;
}

function addressList(list: MicrosoftGraph.Recipient[] | null | undefined): { name: string; address: string }[] {
  return (list ?? []).map(addressOf).filter((a): a is { name: string; address: string } => a !== undefined);
}

/**
 * MIME for a message given as JSON (sendMail, POST messages), sent from `fromAddress`:
 * file attachments (inline ones with their Content-ID), internetMessageId, and `date` (the
 * client submit time a create may set) when given.
 */
export async function composeFromJson(message: MicrosoftGraph.Message, fromAddress: string, date = new Date()): Promise<Buffer> {
  const body = message.body ?? { contentType: 'text', content: '' };
  const attachments = (message.attachments ?? []).map((a) => {
    const file = a as MicrosoftGraph.FileAttachment;
    if (typeof file.contentBytes !== 'string') throw new GraphError(400, 'ErrorInvalidProperty', 'Only file attachments with contentBytes are supported here.');
    return {
      filename: file.name ?? 'attachment',
      content: Buffer.from(file.contentBytes, 'base64'),
      contentType: file.contentType ?? 'application/octet-stream',
      ...(file.isInline && file.contentId ? { cid: file.contentId, contentDisposition: 'inline' as const } : {}),
    };
  });
  const composer = new MailComposer({
    ...(message.internetMessageId ? { messageId: message.internetMessageId } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
    from: addressOf(message.from) ?? fromAddress,
    to: addressList(message.toRecipients),
    cc: addressList(message.ccRecipients),
    bcc: addressList(message.bccRecipients),
    replyTo: addressList(message.replyTo),
    subject: message.subject ?? '',
    ...(body.contentType === 'html' ? { html: body.content ?? '' } : { text: body.content ?? '' }),
    date,
  });
  const node = composer.compile();
  node.keepBcc = true; // the sender's own copy keeps Bcc, as in Sent Items
  return node.build();
}
