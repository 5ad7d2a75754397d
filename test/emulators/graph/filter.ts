// The subset of OData $filter / $orderby that a mail adapter uses on message lists:
// comparisons of simple properties joined with `and`, e.g.
//   receivedDateTime ge 2024-01-01T00:00:00Z and isRead eq false
//   internetMessageId eq '<abc@example.com>'
// Anything else is answered 400 ErrorInvalidUrlQueryFilter. Exchange's rule that $orderby
// properties must come first in $filter (else 400 InefficientFilter) is enforced too.
import { GraphError, badRequest } from './http';
import { MessageRecord } from './state';

type Value = string | number | boolean | null;
type Op = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

interface Clause {
  prop: string;
  op: Op;
  value: Value;
}

const DATE_PROPS = new Set(['receivedDateTime', 'sentDateTime', 'lastModifiedDateTime', 'createdDateTime']);

function propValue(msg: MessageRecord, prop: string): Value {
  switch (prop) {
    case 'receivedDateTime': return msg.receivedDateTime;
    case 'sentDateTime': return msg.summary.sentDateTime ?? msg.receivedDateTime;
    case 'lastModifiedDateTime': return msg.lastModifiedDateTime;
    case 'createdDateTime': return msg.createdDateTime;
    case 'isRead': return msg.isRead;
    case 'isDraft': return msg.isDraft;
    case 'hasAttachments': return msg.summary.hasAttachments;
    case 'internetMessageId': return msg.summary.internetMessageId;
    case 'subject': return msg.summary.subject;
    case 'importance': return msg.summary.importance;
    case 'conversationId': return msg.conversationId;
    case 'parentFolderId': return msg.folderId;
    case 'flag/flagStatus': return msg.flag.flagStatus ?? 'notFlagged';
    default: return null;
  }
}

const KNOWN = new Set(['receivedDateTime', 'sentDateTime', 'lastModifiedDateTime', 'createdDateTime', 'isRead', 'isDraft', 'hasAttachments', 'internetMessageId', 'subject', 'importance', 'conversationId', 'parentFolderId', 'flag/flagStatus']);

const invalid = (why: string): GraphError => badRequest(`Invalid filter clause: ${why}`, 'ErrorInvalidUrlQueryFilter');

function literal(raw: string): Value {
  const s = raw.trim();
  const q = /^'((?:[^']|'')*)'$/.exec(s);
  if (q !== null) return q[1].replace(/''/g, "'");
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(s)) return s;
  throw invalid(`unsupported literal ${s}`);
}

export function parseFilter(raw: string | null): Clause[] {
  if (raw === null || raw.trim() === '') return [];
  const out: Clause[] = [];
  // Split on ` and ` outside quotes.
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  const tokens = raw.split(/(\s+and\s+|')/i);
  for (const t of tokens) {
    if (t === "'") quoted = !quoted;
    if (!quoted && /^\s+and\s+$/i.test(t)) {
      parts.push(cur);
      cur = '';
    } else cur += t;
  }
  parts.push(cur);
  for (const part of parts) {
    const m = /^\s*\(?\s*([A-Za-z/]+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*\)?\s*$/.exec(part);
    if (m === null) throw invalid(part.trim());
    if (!KNOWN.has(m[1])) throw invalid(`property ${m[1]} is not supported`);
    out.push({ prop: m[1], op: m[2] as Op, value: literal(m[3]) });
  }
  return out;
}

function compare(a: Value, b: Value, prop: string): number {
  if (DATE_PROPS.has(prop) && typeof a === 'string' && typeof b === 'string') return Date.parse(a) - Date.parse(b);
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export function matchesFilter(msg: MessageRecord, clauses: readonly Clause[]): boolean {
  for (const c of clauses) {
    const r = compare(propValue(msg, c.prop), c.value, c.prop);
    const ok = c.op === 'eq' ? r === 0 : c.op === 'ne' ? r !== 0 : c.op === 'gt' ? r > 0 : c.op === 'ge' ? r >= 0 : c.op === 'lt' ? r < 0 : r <= 0;
    if (!ok) return false;
  }
  return true;
}

export interface OrderBy {
  prop: string;
  desc: boolean;
}

export function parseOrderBy(raw: string | null, dflt: OrderBy[]): OrderBy[] {
  if (raw === null || raw.trim() === '') return dflt;
  return raw.split(',').map((item) => {
    const m = /^\s*([A-Za-z/]+)(?:\s+(asc|desc))?\s*$/i.exec(item);
    if (m === null || !KNOWN.has(m[1])) throw badRequest(`Invalid $orderby clause '${item.trim()}'.`, 'BadRequest');
    return { prop: m[1], desc: (m[2] ?? 'asc').toLowerCase() === 'desc' };
  });
}

/** Exchange answers 400 InefficientFilter unless $orderby properties lead the $filter. */
export function checkFilterOrder(filter: readonly Clause[], orderBy: readonly OrderBy[], explicitOrder: boolean): void {
  if (!explicitOrder || filter.length === 0) return;
  orderBy.forEach((o, i) => {
    if (filter[i]?.prop !== o.prop) throw badRequest('The restriction or sort order is too complex for this operation.', 'InefficientFilter');
  });
}

export function sortMessages(list: MessageRecord[], orderBy: readonly OrderBy[]): MessageRecord[] {
  return [...list].sort((a, b) => {
    for (const o of orderBy) {
      const r = compare(propValue(a, o.prop), propValue(b, o.prop), o.prop);
      if (r !== 0) return o.desc ? -r : r;
    }
    // Same second: the order of arrival, in the direction of the first key.
    return orderBy[0]?.desc === true ? b.ordinal - a.ordinal : a.ordinal - b.ordinal;
  });
}
