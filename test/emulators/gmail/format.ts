// Renders a stored message as a Gmail Message resource in the four formats of
// users.messages.get: minimal (ids, labels, snippet, sizes), metadata (plus the top-level
// headers, optionally only `metadataHeaders`), full (the MIME tree with decoded bodies,
// attachments by attachmentId) and raw (the whole RFC 5322 message, base64url).

import { parseMessage, type MimePart } from '../../../src/mime/parse';
import { decodeBody } from '../../../src/mime/section';
import { bodyText, bytesToText, decodeWords } from '../../../src/mime/text';
import { getParam } from '../../../src/mime/content-type';

export type MessageFormat = 'minimal' | 'metadata' | 'full' | 'raw';

export interface StoredMessage {
  id: string;
  threadId: string;
  raw: Buffer;
  root: MimePart;
  labelIds: string[];
  internalDate: number;
  historyId: number;
  snippet: string;
}

export function parseStored(raw: Buffer): { root: MimePart; snippet: string } {
  const root = parseMessage(raw);
  const text = bodyText(raw, root).replace(/\s+/g, ' ').trim();
  return { root, snippet: text.slice(0, 200) };
}

/** Decoded header value as Gmail shows it (unfolded, RFC 2047 words decoded). */
export function headerValues(m: { root: MimePart }, name: string): string[] {
  const lower = name.toLowerCase();
  return m.root.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => decodeWords(bytesToText(h.value)).trim());
}

export function renderMessage(m: StoredMessage, format: MessageFormat, metadataHeaders?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: m.id,
    threadId: m.threadId,
    labelIds: [...m.labelIds],
    snippet: m.snippet,
    sizeEstimate: m.raw.length,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
  };
  switch (format) {
    case 'minimal':
      return out;
    case 'raw':
      out.raw = m.raw.toString('base64url');
      return out;
    case 'metadata': {
      const wanted = metadataHeaders?.map((h) => h.toLowerCase());
      const headers = partHeaders(m.root).filter((h) => !wanted || wanted.length === 0 || wanted.includes(h.name.toLowerCase()));
      out.payload = { partId: '', mimeType: mimeType(m.root), filename: '', headers, body: { size: 0 } };
      return out;
    }
    case 'full':
      out.payload = renderPart(m, m.root, '');
      return out;
  }
}

function mimeType(p: MimePart): string {
  const { type, subtype } = p.contentType;
  return type && subtype ? `${type}/${subtype}`.toLowerCase() : 'text/plain';
}

function partHeaders(p: MimePart): { name: string; value: string }[] {
  return p.headers.map((h) => ({ name: h.name, value: decodeWords(bytesToText(h.value)).trim() }));
}

function filenameOf(p: MimePart): string {
  const fromDisposition = p.disposition ? getParam(p.disposition.params, 'filename') : undefined;
  return fromDisposition ?? getParam(p.contentType.params, 'name') ?? '';
}

/** The leaf part with this partId ("0", "1.0"...), for attachments.get. */
export function findPartById(root: MimePart, partId: string): MimePart | undefined {
  let p: MimePart | undefined = root;
  if (partId === '') return root;
  for (const step of partId.split('.')) {
    const i = Number(step);
    if (!p || !Number.isInteger(i)) return undefined;
    p = p.children[i];
  }
  return p;
}

export function decodedPart(raw: Buffer, p: MimePart): Buffer {
  const body = raw.subarray(p.headerEnd, p.bodyEnd);
  const decoded = decodeBody(body, p.encoding);
  return 'bytes' in decoded ? decoded.bytes : body;
}

function renderPart(m: StoredMessage, p: MimePart, partId: string): Record<string, unknown> {
  const out: Record<string, unknown> = { partId, mimeType: mimeType(p), filename: filenameOf(p), headers: partHeaders(p) };
  if (p.children.length > 0) {
    out.body = { size: 0 };
    out.parts = p.children.map((c, i) => renderPart(m, c, partId === '' ? String(i) : `${partId}.${i}`));
    return out;
  }
  const data = decodedPart(m.raw, p);
  if (out.filename !== '') {
    // Attachments are fetched separately (users.messages.attachments.get).
    out.body = { attachmentId: attachmentId(m.id, partId), size: data.length };
  } else {
    out.body = data.length > 0 ? { size: data.length, data: data.toString('base64url') } : { size: 0 };
  }
  return out;
}

export function attachmentId(messageId: string, partId: string): string {
  return Buffer.from(`${messageId}:${partId === '' ? 'root' : partId}`).toString('base64url');
}

export function parseAttachmentId(id: string): { messageId: string; partId: string } | undefined {
  const text = Buffer.from(id, 'base64url').toString();
  const m = /^([0-9a-f]+):(root|\d+(?:\.\d+)*)$/.exec(text);
  return m ? { messageId: m[1]!, partId: m[2] === 'root' ? '' : m[2]! } : undefined;
}
