// A stored message as Graph's JSON message resource (resources/message.md), typed with
// @microsoft/microsoft-graph-types so that a misspelt property does not compile; $select and
// $expand=singleValueExtendedProperties($filter=id eq '...') applied.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { MailboxContext, messageId } from './context';
import { badRequest, preferences, project, selectList } from './http';
import { MessageRecord } from './state';

export type Annotated<T> = T & { '@odata.etag'?: string; '@odata.type'?: string; '@odata.context'?: string; '@removed'?: { reason: 'deleted' | 'changed' } };

/** Properties $select may name (the message type's structural properties and relations). */
export const MESSAGE_PROPERTIES: ReadonlySet<string> = new Set<keyof MicrosoftGraph.Message>([
  'bccRecipients', 'body', 'bodyPreview', 'ccRecipients', 'conversationId', 'conversationIndex', 'flag', 'from', 'hasAttachments', 'importance',
  'inferenceClassification', 'internetMessageHeaders', 'internetMessageId', 'isDeliveryReceiptRequested', 'isDraft', 'isRead', 'isReadReceiptRequested',
  'parentFolderId', 'receivedDateTime', 'replyTo', 'sender', 'sentDateTime', 'subject', 'toRecipients', 'uniqueBody', 'webLink', 'categories', 'changeKey',
  'createdDateTime', 'lastModifiedDateTime', 'id', 'singleValueExtendedProperties',
]);

export function changeKey(msg: MessageRecord): string {
  const v = Buffer.alloc(8);
  v.writeBigUInt64BE(BigInt(msg.changeVersion));
  return `CQAAABYAAAA${v.toString('base64')}`;
}

/** Ids named by $expand=singleValueExtendedProperties($filter=id eq 'a' or id eq 'b'). */
export function expandedPropertyIds(query: URLSearchParams): string[] | 'all' | undefined {
  const raw = query.get('$expand');
  if (raw === null) return undefined;
  const m = /^singleValueExtendedProperties(?:\(\$filter=(.*)\))?$/i.exec(raw.trim());
  if (m === null) throw badRequest(`Parsing OData Select and Expand failed: Could not find a property named '${raw.split('(')[0]}' on type 'microsoft.graph.message'.`);
  if (m[1] === undefined) return 'all';
  const ids: string[] = [];
  for (const clause of m[1].split(/\s+or\s+/i)) {
    const c = /^\s*id\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
    if (c === null) throw badRequest(`Invalid filter clause '${clause}' for singleValueExtendedProperties.`, 'ErrorInvalidUrlQueryFilter');
    ids.push(c[1].replace(/''/g, "'"));
  }
  return ids;
}

function htmlToText(html: string): string {
  return html.replace(/<(style|script)[\s\S]*?<\/\1>/gi, '').replace(/<br\s*\/?>|<\/p>/gi, '\r\n').replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').trim();
}

export function renderMessage(ctx: MailboxContext, msg: MessageRecord): Annotated<MicrosoftGraph.Message> {
  const s = msg.summary;
  const key = changeKey(msg);
  const wantText = preferences(ctx.req).get('outlook.body-content-type')?.toLowerCase() === 'text';
  const body: MicrosoftGraph.ItemBody = wantText && s.body.contentType === 'html' ? { contentType: 'text', content: htmlToText(s.body.content ?? '') } : s.body;
  const id = messageId(ctx, msg);
  const full: Annotated<MicrosoftGraph.Message> = {
    '@odata.etag': `W/"${key}"`,
    id,
    createdDateTime: msg.createdDateTime,
    lastModifiedDateTime: msg.lastModifiedDateTime,
    changeKey: key,
    categories: [...msg.categories],
    receivedDateTime: msg.receivedDateTime,
    sentDateTime: s.sentDateTime ?? msg.receivedDateTime,
    hasAttachments: s.hasAttachments,
    internetMessageId: s.internetMessageId,
    subject: s.subject,
    bodyPreview: s.bodyPreview,
    importance: s.importance,
    parentFolderId: msg.folderId,
    conversationId: msg.conversationId,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: msg.isRead,
    isDraft: msg.isDraft,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body,
    sender: s.sender ?? null,
    from: s.from ?? null,
    toRecipients: s.toRecipients,
    ccRecipients: s.ccRecipients,
    bccRecipients: s.bccRecipients,
    replyTo: s.replyTo,
    flag: { ...msg.flag },
  };
  const select = selectList(ctx.req.query);
  // Only on request, as Graph does: the headers and the unique body are expensive there.
  if (select?.includes('internetMessageHeaders')) full.internetMessageHeaders = s.internetMessageHeaders;
  if (select?.includes('uniqueBody')) full.uniqueBody = body;
  const out = project(full, select, MESSAGE_PROPERTIES, 'microsoft.graph.message');
  const expand = expandedPropertyIds(ctx.req.query);
  if (expand !== undefined) {
    const wanted = expand === 'all' ? undefined : new Set(expand.map((i) => i.toLowerCase()));
    const props: MicrosoftGraph.SingleValueLegacyExtendedProperty[] = [...msg.extended.entries()]
      .filter(([k]) => wanted === undefined || wanted.has(k))
      .map(([, v]) => ({ id: v.id, value: v.value }));
    if (props.length > 0) out.singleValueExtendedProperties = props;
  }
  return out;
}
