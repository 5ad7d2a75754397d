// One function per Gmail method (by discovery id). Request shapes were already checked
// against the discovery document; here come the semantic checks Gmail makes and the work.

import { parseAddressList } from '../../../src/mime/address';
import { badRequest, notFound } from './errors';
import type { MimePart } from '../../../src/mime/parse';
import { decodedPart, parseStored, findPartById, headerValues, parseAttachmentId, renderMessage, type MessageFormat, type StoredMessage } from './format';
import type { HistoryType } from './history';
import type { LabelInput } from './labels';
import { page, type Mailbox } from './messages';
import type { GmailState } from './state';
import type { WatchRequestBody } from './watch';

export interface CallContext {
  state: GmailState;
  mailbox: Mailbox;
  query: URLSearchParams;
  pathParams: Record<string, string>;
  body: unknown;
}

type Handler = (c: CallContext) => unknown;

interface MessageBody {
  raw?: string;
  labelIds?: string[];
  threadId?: string;
}

interface ModifyBody {
  ids?: string[];
  addLabelIds?: string[];
  removeLabelIds?: string[];
}

function maxResults(q: URLSearchParams, dflt: number, max: number): number {
  const v = q.get('maxResults');
  if (v === null) return dflt;
  const n = Number(v);
  if (n < 1) throw badRequest('Invalid maxResults');
  return Math.min(n, max);
}

function rawOf(body: MessageBody): Buffer {
  if (!body.raw) throw badRequest("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
  return Buffer.from(body.raw.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
}

const short = (m: StoredMessage): Record<string, unknown> => ({ id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] });

function listMessages(c: CallContext, threads: boolean): Record<string, unknown> {
  const { query, mailbox } = c;
  const matching = mailbox.select({
    q: query.get('q') ?? undefined,
    labelIds: query.getAll('labelIds'),
    includeSpamTrash: query.get('includeSpamTrash') === 'true',
  });
  const max = maxResults(query, threads ? 100 : 100, 500);
  const token = query.get('pageToken') ?? undefined;
  if (!threads) {
    const p = page(matching, (m) => [m.internalDate, m.id], max, token);
    const out: Record<string, unknown> = {};
    if (p.items.length > 0) out.messages = p.items.map((m) => ({ id: m.id, threadId: m.threadId }));
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    out.resultSizeEstimate = matching.length;
    return out;
  }
  // A thread matches when one of its messages does; it sorts by its newest matching message.
  const seen = new Map<string, StoredMessage>();
  for (const m of matching) if (!seen.has(m.threadId)) seen.set(m.threadId, m);
  const p = page([...seen.values()], (m) => [m.internalDate, m.id], max, token);
  const out: Record<string, unknown> = {};
  if (p.items.length > 0) {
    out.threads = p.items.map((m) => {
      const all = mailbox.threadMessages(m.threadId);
      const last = all[all.length - 1]!;
      return { id: m.threadId, snippet: last.snippet, historyId: String(Math.max(...all.map((x) => x.historyId))) };
    });
  }
  if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
  out.resultSizeEstimate = seen.size;
  return out;
}

function renderThread(mailbox: Mailbox, threadId: string, format: MessageFormat, headers?: string[]): Record<string, unknown> {
  const msgs = mailbox.threadMessages(threadId);
  return {
    id: threadId,
    historyId: String(Math.max(...msgs.map((m) => m.historyId))),
    messages: msgs.map((m) => renderMessage(m, format, headers)),
  };
}

function threadAction(c: CallContext, act: (id: string) => void): Record<string, unknown> {
  const id = c.pathParams.id!;
  for (const m of c.mailbox.threadMessages(id)) act(m.id);
  return renderThread(c.mailbox, id, 'minimal');
}

function recipients(m: { root: MimePart }): string[] {
  const out: string[] = [];
  for (const h of ['to', 'cc', 'bcc']) {
    for (const v of headerValues(m, h)) {
      for (const a of parseAddressList(v)) if (a.mailbox && a.host) out.push(`${a.mailbox}@${a.host}`.toLowerCase());
    }
  }
  return [...new Set(out)];
}

function stripBcc(raw: Buffer, m: { root: MimePart }): Buffer {
  const bcc = m.root.headers.filter((h) => h.name.toLowerCase() === 'bcc');
  if (bcc.length === 0) return raw;
  const parts: Buffer[] = [];
  let pos = 0;
  for (const h of bcc) {
    parts.push(raw.subarray(pos, h.start));
    pos = h.end;
  }
  parts.push(raw.subarray(pos));
  return Buffer.concat(parts);
}

export const HANDLERS: Record<string, Handler> = {
  'gmail.users.getProfile': (c) => c.mailbox.profile(),
  'gmail.users.watch': (c) => c.state.watches.watch(c.mailbox, c.body as WatchRequestBody),
  'gmail.users.stop': (c) => {
    c.state.watches.stop(c.mailbox.email);
    return undefined;
  },
  'gmail.users.history.list': (c) => {
    const start = c.query.get('startHistoryId');
    if (start === null) throw badRequest('Missing startHistoryId');
    const types = c.query.getAll('historyTypes') as HistoryType[];
    return c.mailbox.history.list({
      startHistoryId: Number(start),
      types: types.length > 0 ? types : undefined,
      labelId: c.query.get('labelId') ?? undefined,
      maxResults: maxResults(c.query, 100, 500),
      pageToken: c.query.get('pageToken') ?? undefined,
    });
  },
  'gmail.users.labels.list': (c) => ({ labels: c.mailbox.labels.all().map((l) => c.mailbox.labels.resource(l)) }),
  'gmail.users.labels.get': (c) => {
    const l = c.mailbox.labels.require(c.pathParams.id!);
    return c.mailbox.labels.resource(l, c.mailbox.labelCounts(l.id));
  },
  'gmail.users.labels.create': (c) => {
    const l = c.mailbox.labels.create(c.body as LabelInput);
    c.mailbox.history.bump();
    return c.mailbox.labels.resource(l);
  },
  'gmail.users.labels.patch': (c) => c.mailbox.labels.resource(c.mailbox.labels.change(c.pathParams.id!, c.body as LabelInput, false)),
  'gmail.users.labels.update': (c) => c.mailbox.labels.resource(c.mailbox.labels.change(c.pathParams.id!, c.body as LabelInput, true)),
  'gmail.users.labels.delete': (c) => {
    c.mailbox.deleteLabel(c.pathParams.id!);
    return undefined;
  },
  'gmail.users.messages.list': (c) => listMessages(c, false),
  'gmail.users.messages.get': (c) => {
    const format = (c.query.get('format') ?? 'full') as MessageFormat;
    return renderMessage(c.mailbox.get(c.pathParams.id!), format, c.query.getAll('metadataHeaders'));
  },
  'gmail.users.messages.attachments.get': (c) => {
    const m = c.mailbox.get(c.pathParams.messageId!);
    const ref = parseAttachmentId(c.pathParams.id!);
    const part = ref && ref.messageId === m.id ? findPartById(m.root, ref.partId) : undefined;
    if (!part) throw notFound();
    const data = decodedPart(m.raw, part);
    return { size: data.length, data: data.toString('base64url') };
  },
  'gmail.users.messages.insert': (c) => insertOrImport(c, 'receivedTime'),
  'gmail.users.messages.import': (c) => insertOrImport(c, 'dateHeader'),
  'gmail.users.messages.send': (c) => {
    const body = c.body as MessageBody;
    const raw = rawOf(body);
    const parsed = parseStored(raw);
    const to = recipients(parsed);
    if (to.length === 0) throw badRequest('Recipient address required');
    const m = c.mailbox.add(raw, { labelIds: ['SENT'], threadId: body.threadId });
    c.state.sent.push({ from: c.mailbox.email, recipients: to, messageId: m.id });
    const delivered = stripBcc(raw, parsed);
    for (const r of to) if (c.state.mailboxes.has(r) && r !== c.mailbox.email.toLowerCase()) c.state.deliver(r, delivered);
    return short(m);
  },
  'gmail.users.messages.modify': (c) => {
    const b = c.body as ModifyBody;
    return short(c.mailbox.modify(c.pathParams.id!, b.addLabelIds ?? [], b.removeLabelIds ?? []));
  },
  'gmail.users.messages.batchModify': (c) => {
    const b = c.body as ModifyBody;
    c.mailbox.batchModify(b.ids ?? [], b.addLabelIds ?? [], b.removeLabelIds ?? []);
    return undefined;
  },
  'gmail.users.messages.trash': (c) => short(c.mailbox.trash(c.pathParams.id!)),
  'gmail.users.messages.untrash': (c) => short(c.mailbox.untrash(c.pathParams.id!)),
  'gmail.users.messages.delete': (c) => {
    c.mailbox.delete(c.pathParams.id!);
    return undefined;
  },
  'gmail.users.messages.batchDelete': (c) => {
    for (const id of (c.body as ModifyBody).ids ?? []) if (c.mailbox.has(id)) c.mailbox.delete(id);
    return undefined;
  },
  'gmail.users.threads.list': (c) => listMessages(c, true),
  'gmail.users.threads.get': (c) =>
    renderThread(c.mailbox, c.pathParams.id!, (c.query.get('format') ?? 'full') as MessageFormat, c.query.getAll('metadataHeaders')),
  'gmail.users.threads.modify': (c) => {
    const b = c.body as ModifyBody;
    return threadAction(c, (id) => c.mailbox.modify(id, b.addLabelIds ?? [], b.removeLabelIds ?? []));
  },
  'gmail.users.threads.trash': (c) => threadAction(c, (id) => c.mailbox.trash(id)),
  'gmail.users.threads.untrash': (c) => threadAction(c, (id) => c.mailbox.untrash(id)),
  'gmail.users.threads.delete': (c) => {
    for (const m of c.mailbox.threadMessages(c.pathParams.id!)) c.mailbox.delete(m.id);
    return undefined;
  },
};

function insertOrImport(c: CallContext, defaultSource: 'receivedTime' | 'dateHeader'): Record<string, unknown> {
  const body = c.body as MessageBody;
  const raw = rawOf(body);
  const source = (c.query.get('internalDateSource') ?? defaultSource) as 'receivedTime' | 'dateHeader';
  const m = c.mailbox.add(raw, { labelIds: body.labelIds ?? [], threadId: body.threadId, internalDateSource: source });
  if (c.query.get('deleted') === 'true') {
    // Only visible in Google Vault: the mailbox does not show it.
    c.mailbox.delete(m.id);
  }
  return short(m);
}
