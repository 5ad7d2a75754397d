// Messages: list (with $select/$top/$skip/$filter/$orderby), get, $value (MIME, re-rendered on
// every fetch), create from MIME or JSON, PATCH, DELETE, move, copy, and user: sendMail.
// Docs: message-get.md, user-post-messages.md, message-update.md, message-move.md,
// message-copy.md, user-sendmail.md.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { MailboxContext } from './context';
import { checkFilterOrder, matchesFilter, parseFilter, parseOrderBy, sortMessages } from './filter';
import { EmuResponse, GraphError, badRequest, intOption, json, jsonBody, link, noContent, notFound, text } from './http';
import { composeFromJson, decodeMimeRequest, rerender, summarize } from './mime';
import { MESSAGE_PROPERTIES, renderMessage } from './render';
import { FolderRecord, MessageRecord } from './state';

const PAGE = 10;
const MAX_PAGE = 1000;

export function listMessages(ctx: MailboxContext, folder: FolderRecord | undefined): EmuResponse {
  const q = ctx.req.query;
  const top = intOption(q, '$top', PAGE, MAX_PAGE);
  const skip = intOption(q, '$skip', 0, Number.MAX_SAFE_INTEGER);
  const filter = parseFilter(q.get('$filter'));
  const orderBy = parseOrderBy(q.get('$orderby'), [{ prop: 'receivedDateTime', desc: true }]);
  checkFilterOrder(filter, orderBy, q.has('$orderby'));
  const all = folder === undefined ? [...ctx.mailbox.messages.values()] : ctx.mailbox.inFolder(folder.id);
  const hits = sortMessages(all.filter((m) => matchesFilter(m, filter)), orderBy);
  const page = hits.slice(skip, skip + top);
  const body: Record<string, unknown> = { '@odata.context': `${ctx.req.origin}/v1.0/$metadata#Collection(message)`, value: page.map((m) => renderMessage(ctx, m)) };
  if (skip + top < hits.length) {
    const next = new URLSearchParams(q);
    next.set('$skip', String(skip + top));
    next.set('$top', String(top));
    body['@odata.nextLink'] = link(ctx.req, ctx.req.path, next);
  }
  return json(200, body);
}

export function getMessage(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  return json(200, renderMessage(ctx, msg));
}

/** $value: the MIME written afresh each time (new boundaries), like Exchange. */
export function getMime(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  void ctx;
  return text(200, rerender(msg.mime).toString('latin1'), 'text/plain');
}

function isMimeBody(ctx: MailboxContext): boolean {
  return (ctx.req.headers['content-type'] ?? '').toLowerCase().startsWith('text/plain');
}

const EXT_ID = /^(String|Integer|Boolean|SystemTime|Binary|Long|Double|Short|Float|Currency|Guid|CLSID|ApplicationTime|Object)\s+(0x[0-9a-f]{1,4}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}\s+(Name\s+\S.*|Id\s+0x[0-9a-f]{1,4}))$/i;

function extendedProperties(value: unknown): { id: string; value: string }[] {
  if (!Array.isArray(value)) throw badRequest('singleValueExtendedProperties must be an array.', 'ErrorInvalidProperty');
  return value.map((p: unknown) => {
    const rec = p as Record<string, unknown>;
    const id = rec?.id;
    const v = rec?.value;
    if (typeof id !== 'string' || !EXT_ID.test(id.trim())) throw badRequest(`The extended property id '${String(id)}' is not valid.`, 'ErrorInvalidProperty');
    if (typeof v !== 'string') throw badRequest('Extended property values are strings.', 'ErrorInvalidProperty');
    if (/^(Integer|Long|Short)\s/i.test(id) && !/^-?\d+$/.test(v)) throw badRequest(`The value '${v}' is not valid for property '${id}'.`, 'ErrorInvalidPropertyValue');
    return { id: id.trim(), value: v };
  });
}

const FLAG_STATUS = new Set(['notFlagged', 'flagged', 'complete']);
const UPDATABLE = new Set(['isRead', 'flag', 'categories', 'singleValueExtendedProperties', 'importance', 'inferenceClassification']);
const DRAFT_UPDATABLE = new Set(['subject', 'body', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'from']);

function applyPatch(msg: MessageRecord, body: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('@odata.')) continue;
    if (!MESSAGE_PROPERTIES.has(key)) throw badRequest(`The property '${key}' does not exist on type 'microsoft.graph.message'.`, 'RequestBodyRead');
    if (!UPDATABLE.has(key) && !(msg.isDraft && DRAFT_UPDATABLE.has(key))) throw badRequest(`The property '${key}' can't be updated.`, 'ErrorInvalidPropertyUpdate');
  }
  if ('isRead' in body) {
    if (typeof body.isRead !== 'boolean') throw badRequest('isRead must be a boolean.', 'ErrorInvalidPropertyValue');
    msg.isRead = body.isRead;
  }
  if ('flag' in body) {
    const flag = body.flag as MicrosoftGraph.FollowupFlag | null;
    if (flag === null || typeof flag !== 'object' || (flag.flagStatus != null && !FLAG_STATUS.has(flag.flagStatus))) throw badRequest('Invalid flag.', 'ErrorInvalidPropertyValue');
    msg.flag = { ...flag, flagStatus: flag.flagStatus ?? 'notFlagged' };
  }
  if ('categories' in body) {
    const cats = body.categories;
    if (!Array.isArray(cats) || cats.some((c) => typeof c !== 'string')) throw badRequest('categories must be an array of strings.', 'ErrorInvalidPropertyValue');
    msg.categories = [...new Set(cats as string[])];
  }
  if (msg.isDraft && typeof body.subject === 'string') msg.summary = { ...msg.summary, subject: body.subject };
  if ('singleValueExtendedProperties' in body) {
    for (const p of extendedProperties(body.singleValueExtendedProperties)) msg.extended.set(p.id.toLowerCase(), p);
  }
}

/** POST messages: a draft (Drafts, or the folder in the path) from base64 MIME or JSON. */
export async function createMessage(ctx: MailboxContext, folder: FolderRecord | undefined): Promise<EmuResponse> {
  const target = folder ?? ctx.mailbox.wellKnown('drafts');
  let msg: MessageRecord;
  if (isMimeBody(ctx)) {
    const raw = decodeMimeRequest(ctx.req.body);
    msg = ctx.state.deliver(ctx.mailbox, raw, { folder: target.id, isDraft: true, isRead: true });
  } else {
    const body = jsonBody(ctx.req) as MicrosoftGraph.Message;
    const ext = body.singleValueExtendedProperties != null ? extendedProperties(body.singleValueExtendedProperties) : [];
    // PR_MESSAGE_FLAGS (0x0E07) at creation is how a non-draft item is imported, with its
    // dates: PidTagMessageDeliveryTime (0x0E06, receivedDateTime) and PidTagClientSubmitTime
    // (0x0039, sentDateTime).
    const value = (id: string): string | undefined => ext.find((p) => p.id.toLowerCase() === id)?.value;
    const flags = value('integer 0x0e07');
    const time = (id: string): Date | undefined => {
      const v = value(id);
      return v === undefined || Number.isNaN(Date.parse(v)) ? undefined : new Date(v);
    };
    const mime = await composeFromJson(body, ctx.mailbox.address, time('systemtime 0x0039'));
    const n = flags === undefined ? undefined : Number(flags);
    msg = ctx.state.deliver(ctx.mailbox, mime, {
      folder: target.id,
      isDraft: n === undefined ? true : (n & 8) !== 0,
      isRead: n === undefined ? (body.isRead ?? true) : (n & 1) !== 0,
      receivedDateTime: time('systemtime 0x0e06'),
    });
    if (body.categories != null || body.flag != null || ext.length > 0) {
      const patch: Record<string, unknown> = {};
      if (body.categories != null) patch.categories = body.categories;
      if (body.flag != null) patch.flag = body.flag;
      applyPatch(msg, patch);
      for (const p of ext) msg.extended.set(p.id.toLowerCase(), p);
    }
  }
  return json(201, renderMessage(ctx, msg));
}

export function patchMessage(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  const body = jsonBody(ctx.req);
  ctx.state.update(ctx.mailbox, msg, (m) => applyPatch(m, body));
  return json(200, renderMessage(ctx, msg));
}

export function deleteMessage(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  ctx.state.remove(ctx.mailbox, msg);
  return noContent();
}

function destination(ctx: MailboxContext): FolderRecord {
  const body = jsonBody(ctx.req);
  const dest = body.destinationId;
  if (typeof dest !== 'string' || dest === '') throw badRequest("The parameter 'destinationId' is required.", 'ErrorInvalidParameter');
  const folder = ctx.mailbox.folder(dest);
  if (folder === undefined) throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
  return folder;
}

export function moveMessage(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  const dest = destination(ctx);
  return json(201, renderMessage(ctx, ctx.state.move(ctx.mailbox, msg, dest.id)));
}

export function copyMessage(ctx: MailboxContext, msg: MessageRecord): EmuResponse {
  const dest = destination(ctx);
  return json(201, renderMessage(ctx, ctx.state.copy(ctx.mailbox, msg, dest.id)));
}

function stripBcc(raw: Buffer): Buffer {
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n\r?\n/);
  const head = end < 0 ? s : s.slice(0, end);
  const cleaned = head.replace(/^Bcc:.*(\r?\n[ \t].*)*(\r?\n)?/gim, '');
  return Buffer.from(cleaned + (end < 0 ? '' : s.slice(end)), 'latin1');
}

/** POST sendMail: 202; a copy in Sent Items; delivered to emulated mailboxes it names. */
export async function sendMail(ctx: MailboxContext): Promise<EmuResponse> {
  let raw: Buffer;
  let save = true;
  if (isMimeBody(ctx)) {
    raw = decodeMimeRequest(ctx.req.body);
  } else {
    const body = jsonBody(ctx.req);
    const message = body.message as MicrosoftGraph.Message | undefined;
    if (message === undefined || message === null || typeof message !== 'object') throw badRequest("The parameter 'message' is required.", 'ErrorInvalidParameter');
    if (body.saveToSentItems === false) save = false;
    raw = await composeFromJson(message, ctx.mailbox.address);
  }
  const s = summarize(raw);
  const recipients = [...s.toRecipients, ...s.ccRecipients, ...s.bccRecipients].map((r) => r.emailAddress?.address ?? '').filter((a) => a !== '');
  if (recipients.length === 0) throw badRequest('At least one recipient is not valid., Recipient is missing.', 'ErrorInvalidRecipients');
  ctx.state.sent.push({ mailbox: ctx.mailbox.address, recipients, mime: raw });
  if (save) ctx.state.deliver(ctx.mailbox, raw, { folder: 'sentitems', isRead: true });
  const delivered = stripBcc(raw);
  for (const address of new Set(recipients.map((a) => a.toLowerCase()))) {
    const mb = ctx.state.mailbox(address);
    if (mb !== undefined) ctx.state.deliver(mb, delivered, { folder: 'inbox' });
  }
  return noContent(202);
}

export function findMessage(ctx: MailboxContext, id: string): MessageRecord {
  const msg = ctx.mailbox.message(id);
  if (msg === undefined) throw notFound();
  return msg;
}
