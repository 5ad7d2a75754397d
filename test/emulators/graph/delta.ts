// message: delta per folder (message-delta.md, concepts/delta-query-messages.md).
//
// A round starts with no token (every message in the folder) or with a $deltatoken (the
// changes logged for the folder since the token's sequence number). The round's items are
// fixed when it starts and served in pages of Prefer: odata.maxpagesize (or $top); each page
// but the last has an @odata.nextLink ($skiptoken), the last an @odata.deltaLink
// ($deltatoken). Messages deleted or moved out come as { id, "@removed": { reason: "deleted" } }.
// $select, $expand (extended properties), changeType and $filter=receivedDateTime ge|gt are
// given once and carried in the tokens. A token from before state.invalidateDeltaTokens()
// answers 410 syncStateNotFound.
import { randomBytes } from 'node:crypto';
import { MailboxContext } from './context';
import { EmuResponse, GraphError, badRequest, intOption, json, link, preferences } from './http';
import { Annotated, expandedPropertyIds, renderMessage } from './render';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { FolderRecord, Mailbox, MessageRecord } from './state';

interface DeltaParams {
  select?: string;
  /** $expand=singleValueExtendedProperties($filter=...), checked when the round starts. */
  expand?: string;
  changeType?: 'created' | 'updated' | 'deleted';
  /** receivedDateTime ge|gt value */
  since?: { op: 'ge' | 'gt'; at: string };
}

interface DeltaToken {
  m: string;
  f: string;
  s: number;
  e: number;
  p: DeltaParams;
}

interface Item {
  immutableId: string;
  /** REST ids the client may know that are gone from the folder. */
  goneRestIds: string[];
}

interface Round {
  mailboxId: string;
  folderId: string;
  epoch: number;
  toSeq: number;
  params: DeltaParams;
  items: Item[];
}

const DEFAULT_PAGE = 10;
const MAX_ROUNDS = 10_000;

const gone = (): GraphError => new GraphError(410, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be resynchronized.');

function encodeToken(t: DeltaToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(raw: string): DeltaToken {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as DeltaToken;
    if (typeof t.m !== 'string' || typeof t.f !== 'string' || typeof t.s !== 'number' || typeof t.e !== 'number') throw new Error('shape');
    return t;
  } catch {
    throw gone();
  }
}

function params(q: URLSearchParams): DeltaParams {
  const p: DeltaParams = {};
  const select = q.get('$select');
  if (select !== null) p.select = select;
  const expand = q.get('$expand');
  if (expand !== null) {
    expandedPropertyIds(q);
    p.expand = expand;
  }
  const ct = q.get('changeType');
  if (ct !== null) {
    if (ct !== 'created' && ct !== 'updated' && ct !== 'deleted') throw badRequest(`Invalid changeType '${ct}'.`, 'ErrorInvalidParameter');
    p.changeType = ct;
  }
  const filter = q.get('$filter');
  if (filter !== null) {
    const m = /^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$/.exec(filter);
    if (m === null || Number.isNaN(Date.parse(m[2]))) throw badRequest('Only receivedDateTime ge|gt {value} is supported in $filter with delta.', 'ErrorInvalidUrlQueryFilter');
    p.since = { op: m[1] as 'ge' | 'gt', at: m[2] };
  }
  if (q.has('$orderby') && !/^\s*receivedDateTime\s+desc\s*$/.test(q.get('$orderby') ?? '')) throw badRequest('Only $orderby=receivedDateTime desc is supported with delta.', 'BadRequest');
  if (q.has('$search')) throw badRequest('$search is not supported with delta.', 'BadRequest');
  return p;
}

function passesFilter(msg: MessageRecord, p: DeltaParams): boolean {
  if (p.since === undefined) return true;
  const d = Date.parse(msg.receivedDateTime) - Date.parse(p.since.at);
  return p.since.op === 'ge' ? d >= 0 : d > 0;
}

/** Items of a round that starts from a token: the folder's log after seq, one per message. */
function changesSince(mb: Mailbox, folderId: string, seq: number, p: DeltaParams): Item[] {
  const groups = new Map<string, { firstKind: string; gone: Set<string> }>();
  for (const e of mb.log) {
    if (e.seq <= seq || e.folderId !== folderId) continue;
    let g = groups.get(e.immutableId);
    if (g === undefined) groups.set(e.immutableId, (g = { firstKind: e.kind, gone: new Set() }));
    if (e.kind === 'removed') g.gone.add(e.restId);
  }
  const items: Item[] = [];
  for (const [immutableId, g] of groups) {
    const msg = mb.messages.get(immutableId);
    const present = msg !== undefined && msg.folderId === folderId;
    const wasPresent = g.firstKind !== 'added';
    if (present) g.gone.delete(msg.restId);
    const kind = present ? (wasPresent ? 'updated' : 'created') : wasPresent ? 'deleted' : undefined;
    if (kind === undefined || (p.changeType !== undefined && p.changeType !== kind)) continue;
    if (present && !passesFilter(msg, p)) continue;
    items.push({ immutableId, goneRestIds: [...g.gone] });
  }
  return items;
}

export class DeltaService {
  private readonly rounds = new Map<string, Round>();

  handle(ctx: MailboxContext, folder: FolderRecord): EmuResponse {
    const q = ctx.req.query;
    const pref = preferences(ctx.req).get('odata.maxpagesize');
    const pageSize = pref !== undefined && /^\d+$/.test(pref) ? Math.max(1, Number(pref)) : intOption(q, '$top', DEFAULT_PAGE, 1000);
    // $skiptoken = round key "." position: a page asked for again (a retry) is served again.
    const skip = q.get('$skiptoken');
    let key: string;
    let pos = 0;
    let round: Round | undefined;
    if (skip !== null) {
      const m = /^([A-Za-z0-9_-]+)\.(\d+)$/.exec(skip);
      round = m === null ? undefined : this.rounds.get(m[1]);
      if (m === null || round === undefined) throw gone();
      key = m[1];
      pos = Number(m[2]);
    } else {
      round = this.start(ctx, folder);
      key = randomBytes(18).toString('base64url');
      this.rounds.set(key, round);
      if (this.rounds.size > MAX_ROUNDS) this.rounds.delete(this.rounds.keys().next().value as string);
    }
    if (round.mailboxId !== ctx.mailbox.id || round.folderId !== folder.id) throw gone();
    if (round.epoch !== ctx.mailbox.deltaEpoch) throw gone();
    return this.page(ctx, folder, round, key, pos, pageSize, pref !== undefined);
  }

  private start(ctx: MailboxContext, folder: FolderRecord): Round {
    const q = ctx.req.query;
    const mb = ctx.mailbox;
    const raw = q.get('$deltatoken');
    if (raw !== null) {
      const t = decodeToken(raw);
      if (t.m !== mb.id || t.f !== folder.id || t.e !== mb.deltaEpoch || t.s > mb.seq) throw gone();
      return { mailboxId: mb.id, folderId: folder.id, epoch: mb.deltaEpoch, toSeq: mb.seq, params: t.p, items: changesSince(mb, folder.id, t.s, t.p) };
    }
    const p = params(q);
    const desc = q.has('$orderby');
    const list = mb
      .inFolder(folder.id)
      .filter((m) => passesFilter(m, p))
      .sort((a, b) => (desc ? b.ordinal - a.ordinal : a.ordinal - b.ordinal));
    return { mailboxId: mb.id, folderId: folder.id, epoch: mb.deltaEpoch, toSeq: mb.seq, params: p, items: list.map((m) => ({ immutableId: m.immutableId, goneRestIds: [] })) };
  }

  private page(ctx: MailboxContext, folder: FolderRecord, round: Round, key: string, pos: number, pageSize: number, preferred: boolean): EmuResponse {
    const carried: Record<string, string> = {};
    if (round.params.select !== undefined) carried.$select = round.params.select;
    if (round.params.expand !== undefined) carried.$expand = round.params.expand;
    const renderCtx: MailboxContext = { ...ctx, req: { ...ctx.req, query: new URLSearchParams(carried) } };
    const value: Annotated<MicrosoftGraph.Message>[] = [];
    const removed = (id: string): Annotated<MicrosoftGraph.Message> => ({ '@odata.type': '#microsoft.graph.message', id, '@removed': { reason: 'deleted' } });
    const slice = round.items.slice(pos, pos + pageSize);
    const end = pos + slice.length;
    for (const item of slice) {
      const msg = ctx.mailbox.messages.get(item.immutableId);
      if (msg !== undefined && msg.folderId === folder.id) {
        if (!ctx.immutable) for (const id of item.goneRestIds) value.push(removed(id));
        value.push({ '@odata.type': '#microsoft.graph.message', ...renderMessage(renderCtx, msg) });
      } else if (ctx.immutable) {
        value.push(removed(item.immutableId));
      } else {
        const ids = new Set(item.goneRestIds);
        if (msg !== undefined) ids.add(msg.restId); // moved away after the round started
        for (const id of ids) value.push(removed(id));
      }
    }
    const body: Record<string, unknown> = { '@odata.context': `${ctx.req.origin}/v1.0/$metadata#Collection(message)` };
    if (end < round.items.length) {
      body['@odata.nextLink'] = link(ctx.req, ctx.req.path, new URLSearchParams({ $skiptoken: `${key}.${end}` }));
    } else {
      const token = encodeToken({ m: round.mailboxId, f: round.folderId, s: round.toSeq, e: round.epoch, p: round.params });
      body['@odata.deltaLink'] = link(ctx.req, ctx.req.path, new URLSearchParams({ $deltatoken: token }));
    }
    body.value = value;
    return json(200, body, preferred ? { 'Preference-Applied': `odata.maxpagesize=${pageSize}` } : {});
  }
}
