// FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9; RFC 3516 BINARY; RFC 7162 MODSEQ, CHANGEDSINCE
// and VANISHED; RFC 8474 EMAILID and THREADID).
//
// Messages are answered in batches: per batch one store call for the cached summaries and
// one for \Seen, then the contents one by one (the next one loading while the current one
// is answered), so a 1:* fetch never holds more than two messages' bytes at a time.
//
// A message whose content is gone (expunged by another session, its view entry not yet
// removed) is left out; the others are answered, then the command ends with
// NO [EXPUNGEISSUED] (RFC 9051 7.1; Dovecot answers the same way). Items that need no
// content (FLAGS, UID, ... and ENVELOPE/BODYSTRUCTURE when cached) are still answered for it.
//
// A backend message listed before its body was fetched has no size yet (0: Graph announces
// none): RFC822.SIZE then loads the content like ENVELOPE does, so the first size a client
// sees is the length of the bytes it will get (design invariant 3), never 0 then another.
import { SELECTED, command } from './types';
import { MemgateError } from '../../core/errors';
import type { HeaderContent, MailboxMessage, MessageContent } from '../../core/ports';
import { resolveSet } from '../message-set';
import type { SelectedMailbox } from '../selected';
import type { SequenceSet } from '../wire/sequence';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';
import { answeredFromHeader, fetchNeeds, parseFetchItems, type FetchItem, type FetchItemOptions } from '../fetch/items';
import { fetchResponse } from '../fetch/respond';
import { parseMessage, type MimePart } from '../../mime/parse';
import { envelopeSummary, loadSummaries, summarize, type ContentSummary, type RenderOptions } from '../fetch/summary';
import { enableCondstore, formatRanges, uidRanges, vanishedEarlier } from '../condstore';

interface FetchArgs {
  set: SequenceSet;
  items: FetchItem[];
  /** CHANGEDSINCE (RFC 7162 3.1.4.1), null when not given. */
  changedSince: number | null;
  /** VANISHED (RFC 7162 3.2.6): UID FETCH with CHANGEDSINCE, QRESYNC enabled. */
  vanished: boolean;
}

/** Messages per round of store calls. */
/** Contents requested ahead of the one being answered. */
const PREFETCH = 8;
const BATCH = 50;

/** MODSEQ (CONDSTORE), EMAILID and THREADID (OBJECTID). */
const ITEM_OPTIONS: FetchItemOptions = { condstore: true, objectId: true };

function parser(byUid: boolean) {
  return (p: Parser, session: Session): FetchArgs => {
    p.sp();
    const set = p.sequenceSet();
    p.sp();
    const items = parseFetchItems(p, ITEM_OPTIONS);
    let changedSince: number | null = null;
    let vanished = false;
    if (p.take(' ')) {
      // fetch-modifiers (RFC 4466 2.4)
      p.list(() => {
        const name = p.atom().toUpperCase();
        if (name === 'CHANGEDSINCE' && changedSince === null) {
          p.sp();
          changedSince = p.modseq();
        } else if (name === 'VANISHED' && !vanished) {
          vanished = true;
        } else p.fail(`Unknown or repeated FETCH modifier ${name.slice(0, 40)}`);
      });
    }
    p.end();
    // RFC 7162 3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE, once QRESYNC is enabled.
    if (vanished && (!byUid || changedSince === null || !session.qresync)) {
      p.fail('VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC');
    }
    return { set, items, changedSince, vanished };
  };
}

async function run(session: Session, args: FetchArgs, byUid: boolean): Promise<void> {
  const sel = session.selected!;
  const since = args.changedSince;
  if (since !== null || args.items.some((i) => i.kind === 'modseq')) enableCondstore(session);
  let uids = resolveSet(sel, args.set, byUid);
  if (args.vanished) {
    const set = args.set.kind === 'saved' ? sel.saved.map((uid) => ({ from: uid, to: uid })) : args.set.ranges;
    const gone = await vanishedEarlier(session, sel, since!, uidRanges(set, sel.uidNext), null);
    if (gone.length > 0) session.send(`* VANISHED (EARLIER) ${formatRanges(gone)}`);
  }
  // CHANGEDSINCE: only messages changed since, and MODSEQ reported with them (RFC 7162 3.1.4.1).
  if (since !== null) uids = uids.filter((uid) => (sel.message(uid)?.modseq ?? 0) > since);
  let asked = args.items;
  if (since !== null && !asked.some((i) => i.kind === 'modseq')) asked = [...asked, { kind: 'modseq' }];
  // UID FETCH always reports UID (RFC 9051 6.4.9); it goes first, as Dovecot sends it.
  const items: FetchItem[] = byUid && !asked.some((i) => i.kind === 'uid') ? [{ kind: 'uid' }, ...asked] : asked;
  // When \Seen gets set, FLAGS is reported too (RFC 9051 6.4.5): right after UID; and with
  // CONDSTORE on, the new MODSEQ (RFC 7162 3.1.2.2).
  const flagged: FetchItem[] = items.some((i) => i.kind === 'flags')
    ? items
    : items[0]?.kind === 'uid'
      ? [items[0], { kind: 'flags' }, ...items.slice(1)]
      : [{ kind: 'flags' }, ...items];
  const withFlags: FetchItem[] =
    session.condstore && !flagged.some((i) => i.kind === 'modseq') ? [...flagged, { kind: 'modseq' }] : flagged;
  const needs = fetchNeeds(items);
  // Header items only: a backend message whose body is not fetched yet is answered from
  // its header section when the store has that (POP3 TOP), without waiting for the body.
  const fromHeader = headerLoader(session, items);
  const wantsSize = items.some((i) => i.kind === 'rfc822Size');
  // Listed before its body (size 0), a backend message may have a stand-in date too
  // (Gmail's first sync): its body brings the real one, read after loading it.
  const wantsDate = items.some((i) => i.kind === 'internalDate') && session.ctx.store.contentDate !== undefined;
  const opts: RenderOptions = { utf8: session.utf8, messageGlobal: session.rev2 };
  const userId = session.user!.id;
  const store = session.ctx.store;
  let gone = 0;
  let unknownCte = false;

  for (let i = 0; i < uids.length; i += BATCH) {
    if (session.isClosed || session.selected !== sel) return;
    const batch = uids.slice(i, i + BATCH).filter((uid) => sel.message(uid) !== undefined);
    const seen = needs.setsSeen && !sel.readOnly ? await markSeen(session, sel, batch) : new Set<number>();
    const messages = batch.map((uid) => sel.message(uid)!);
    const summaries =
      needs.summary || needs.content ? await loadSummaries(store, userId, messages.map((m) => m.contentId)) : new Map<string, ContentSummary>();
    const wantsRaw = (m: MailboxMessage) => needs.content || (needs.summary && !summaries.has(m.contentId)) || ((wantsSize || wantsDate) && m.size === 0);
    const load = (k: number): Promise<MessageContent | null> | null => {
      if (k >= messages.length || !wantsRaw(messages[k])) return null;
      const pending = fromHeader ? fromHeader(userId, messages[k].contentId) : store.getContent(userId, messages[k].contentId);
      pending.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      return pending;
    };
    // A few contents in flight at once: the store answers them in parallel.
    const inFlight: Array<Promise<MessageContent | null> | null> = [];
    for (let k = 0; k < Math.min(PREFETCH, messages.length); k++) inFlight.push(load(k));
    for (let k = 0; k < messages.length; k++) {
      const loading = inFlight.shift() ?? null;
      inFlight.push(load(k + PREFETCH));
      const message = messages[k];
      let summary = summaries.get(message.contentId) ?? null;
      let raw: Buffer | null = null;
      let tree: MimePart | undefined;
      let size = message.size;
      let date: Date | undefined;
      if (loading) {
        const content = await loading;
        if (!content) {
          gone++;
          continue;
        }
        const headerOnly = 'headerOnly' in content && content.headerOnly === true;
        if (size === 0 && !headerOnly) size = content.raw.length;
        if (!summary && headerOnly) {
          // Only ENVELOPE can be asked here (fromHeader); it is answered, never stored.
          tree = parseMessage(content.raw);
          summary = envelopeSummary(tree);
        } else if (!summary) {
          tree = parseMessage(content.raw);
          summary = summarize(store, userId, message.contentId, tree, (err) =>
            session.ctx.log.warn({ err, contentId: message.contentId }, 'saving a content summary failed'),
            content.raw,
          );
        }
        if (needs.content) raw = content.raw;
        if (wantsDate && message.size === 0 && !headerOnly) date = (await store.contentDate!(userId, message.contentId)) ?? undefined;
      }
      if (session.isClosed) return;
      const current = sel.message(message.uid) ?? message;
      const shown = { ...current, flags: sel.flagsOf(current), size: current.size || size, ...(current.size === 0 && date ? { internalDate: date } : {}) };
      const response = fetchResponse(seen.has(message.uid) ? withFlags : items, { seq: sel.seqOf(message.uid), message: shown, summary, raw, tree }, opts);
      if (response.unknownCte) unknownCte = true;
      if (response.chunks.length > 0) session.write(response.chunks);
    }
  }
  if (unknownCte) throw new MemgateError('Unknown Content-Transfer-Encoding', { imapCode: 'UNKNOWN-CTE' });
  if (gone > 0) throw new MemgateError('Some of the requested messages no longer exist', { imapCode: 'EXPUNGEISSUED' });
}

/** getHeaderContent when every item is answered from the header and the store has it. */
function headerLoader(session: Session, items: readonly FetchItem[]): ((userId: string, contentId: string) => Promise<HeaderContent | null>) | null {
  const store = session.ctx.store;
  if (!store.getHeaderContent || !items.every(answeredFromHeader)) return null;
  return (userId, contentId) => store.getHeaderContent!(userId, contentId);
}

/**
 * Sets \Seen on the messages of a batch that lack it (RFC 9051 6.4.5: BODY[...] without
 * PEEK, RFC822, RFC822.TEXT, BINARY[...]); returns the UIDs whose flags this changed.
 */
async function markSeen(session: Session, sel: SelectedMailbox, uids: number[]): Promise<Set<number>> {
  const targets = uids.filter((uid) => {
    const m = sel.message(uid);
    return m !== undefined && !sel.isExpungePending(uid) && !m.flags.some((f) => f.toLowerCase() === '\\seen');
  });
  if (targets.length === 0) return new Set();
  const result = await session.ctx.store.storeFlags(session.user!.id, sel.id, targets, 'add', ['\\Seen']);
  const updated = new Map(result.updated.map((m) => [m.uid, m]));
  for (const uid of targets) {
    const m = updated.get(uid);
    if (m) sel.updateMessage(m);
    else {
      // Set meanwhile by another session (or expunged): the catch-up brings the real row.
      const known = sel.message(uid)!;
      sel.updateMessage({ ...known, flags: [...known.flags, '\\Seen'] });
    }
  }
  return new Set(targets);
}

export const fetch = command<FetchArgs>({
  name: 'FETCH',
  states: SELECTED,
  parse: parser(false),
  handle: (session, args) => run(session, args, false),
  blocksExpunge: true,
});

export const uidFetch = command<FetchArgs>({
  name: 'UID FETCH',
  states: SELECTED,
  parse: parser(true),
  handle: (session, args) => run(session, args, true),
});
