// SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3), with the CONDSTORE and QRESYNC parameters
// (RFC 7162 3.1.8, 3.2.5), HIGHESTMODSEQ (3.1.2.1), [CLOSED] (3.2.11, RFC 9051 7.1) and
// MAILBOXID (RFC 8474 4.2).
import { AUTHENTICATED, command } from './types';
import { NotFoundError, ProtocolError } from '../../core/errors';
import { SelectedMailbox } from '../selected';
import { SYSTEM_FLAGS, flagList } from '../flags';
import { noSelectError, wireName } from '../mailbox-names';
import { serialize } from '../wire/encode';
import { enableCondstore, formatRanges, uidRanges, vanishedEarlier, type SeqMatch } from '../condstore';
import { mailboxId } from '../object-id';
import type { SeqRange } from '../wire/sequence';
import type { Session } from '../session';
import type { Parser } from '../wire/parser';

interface QresyncParams {
  uidValidity: number;
  modseq: number;
  /** known-uids; null means every UID. */
  knownUids: SeqRange[] | null;
  match: SeqMatch | null;
}

interface SelectArgs {
  name: string;
  condstore: boolean;
  qresync: QresyncParams | null;
}

/** Largest seq-match-data a client may send (it is meant to be a small sample). */
const MAX_MATCH = 10_000;

function parse(p: Parser, session: Session): SelectArgs {
  p.sp();
  const name = p.mailbox();
  const args: SelectArgs = { name, condstore: false, qresync: null };
  if (p.take(' ')) {
    // select-params (RFC 4466 2.1)
    const seen = new Set<string>();
    p.list(() => {
      const param = p.atom().toUpperCase();
      if (seen.has(param)) p.fail(`${param} given twice`);
      seen.add(param);
      if (param === 'CONDSTORE') args.condstore = true;
      else if (param === 'QRESYNC') {
        if (!session.qresync) throw new ProtocolError('QRESYNC must be enabled first (ENABLE QRESYNC)', 'CLIENTBUG');
        p.sp();
        args.qresync = qresyncParams(p);
      } else p.fail(`Unknown SELECT parameter ${param.slice(0, 40)}`);
    });
  }
  p.end();
  return args;
}

/** `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"` */
function qresyncParams(p: Parser): QresyncParams {
  p.expect('(');
  const uidValidity = p.nzNumber();
  p.sp();
  const modseq = p.modseq();
  let knownUids: SeqRange[] | null = null;
  let match: SeqMatch | null = null;
  if (p.take(' ')) {
    if (!p.peekChar('(')) {
      knownUids = ranges(p);
      if (p.take(' ')) match = seqMatch(p);
    } else match = seqMatch(p);
  }
  p.expect(')');
  return { uidValidity, modseq, knownUids, match };
}

function ranges(p: Parser): SeqRange[] {
  const set = p.sequenceSet();
  if (set.kind === 'saved') p.fail('"$" cannot be used here');
  return set.ranges;
}

/** `"(" known-sequence-set SP known-uid-set ")"`: equally many numbers on both sides. */
function seqMatch(p: Parser): SeqMatch {
  p.expect('(');
  const seqs = expand(p, ranges(p));
  p.sp();
  const uids = expand(p, ranges(p));
  p.expect(')');
  if (seqs.length !== uids.length) p.fail('seq-match-data: the two sets differ in size');
  return { seqs, uids };
}

function expand(p: Parser, set: SeqRange[]): number[] {
  const out: number[] = [];
  for (const r of set) {
    if (r.from === 0 || r.to === 0) p.fail('"*" cannot be used in seq-match-data');
    const [a, b] = r.from <= r.to ? [r.from, r.to] : [r.to, r.from];
    if (out.length + (b - a + 1) > MAX_MATCH) p.fail('seq-match-data is too long');
    for (let n = a; n <= b; n++) out.push(n);
  }
  return out;
}

async function open(session: Session, args: SelectArgs, readOnly: boolean) {
  // Leaving the old mailbox first: a failed SELECT leaves none selected (RFC 9051 6.3.2).
  if (session.selected && (session.qresync || session.rev2)) session.send('* OK [CLOSED] Previous mailbox closed');
  session.select(null);
  if (args.condstore || args.qresync) enableCondstore(session);
  const userId = session.user!.id;
  const mailbox = await session.ctx.store.getMailbox(userId, args.name);
  if (!mailbox) throw new NotFoundError(`Mailbox does not exist: ${args.name}`);
  if (mailbox.noSelect) throw noSelectError(args.name);
  // The process's shared view of the mailbox, brought up to date (loaded, if it is the first).
  const shared = session.views.acquire(userId, mailbox);
  let sel: SelectedMailbox;
  try {
    await shared.sync();
    sel = new SelectedMailbox(mailbox, shared, readOnly);
  } catch (err) {
    session.views.release(shared);
    throw err;
  }
  try {
    return await announce(session, args, sel);
  } catch (err) {
    // Not selected after all: let the view go (select() took it over otherwise).
    if (session.selected !== sel) session.views.release(shared);
    throw err;
  }
}

async function announce(session: Session, args: SelectArgs, sel: SelectedMailbox) {
  const userId = session.user!.id;
  const mailbox = sel.mailbox;
  const readOnly = sel.readOnly;
  sel.showRecent = !session.rev2;
  // \Recent: SELECT claims the messages no session has seen; EXAMINE only looks.
  const firstRecent = readOnly
    ? sel.count - (await session.ctx.store.countRecent(userId, mailbox.id))
    : null;
  if (firstRecent !== null) {
    const uids = sel.allUids();
    if (firstRecent < uids.length) sel.markRecent(uids[Math.max(0, firstRecent)], sel.lastUid() + 1);
  } else {
    // Claim only up to what this view holds: a message that arrived after it was read is
    // claimed (or not) by the catch-up that brings it.
    const end = sel.lastUid() + 1;
    sel.markRecent(await session.ctx.store.claimRecent(userId, mailbox.id, end), end);
  }
  // QRESYNC's VANISHED (EARLIER) is read before anything is sent, so a failure answers NO cleanly.
  const q = args.qresync && args.qresync.uidValidity === mailbox.uidValidity ? args.qresync : null;
  const known = q ? uidRanges(q.knownUids ?? [{ from: 1, to: 0 }], sel.uidNext) : [];
  const vanished = q ? await vanishedEarlier(session, sel, q.modseq, known, q.match) : [];

  const flags = [...SYSTEM_FLAGS, ...sel.announceKeywords()];
  session.send(`* ${sel.count} EXISTS`);
  if (!session.rev2) session.send(`* ${sel.recent.size} RECENT`);
  session.send(`* FLAGS ${flagList(flags)}`);
  session.send(`* OK [PERMANENTFLAGS ${readOnly ? '()' : flagList([...flags, '\\*'])}] Flags permitted`);
  session.send(`* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${sel.uidNext}] Predicted next UID`);
  if (!session.rev2) {
    const firstUnseen = sel.allUids().findIndex((uid) => !sel.message(uid)!.flags.includes('\\Seen'));
    if (firstUnseen >= 0) session.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  }
  // One of HIGHESTMODSEQ / NOMODSEQ on every SELECT (RFC 7162 3.1.2.1); memgate always has modseqs.
  session.send(`* OK [HIGHESTMODSEQ ${sel.highestModseq}] Highest`);
  session.send(`* OK [MAILBOXID (${mailboxId(mailbox)})] Ok`);
  if (session.rev2) {
    const chunks = ['* LIST () "/" ', ...serialize(wireName(session, mailbox.name)), '\r\n'];
    session.write(chunks);
  }
  session.select(sel);
  if (q) {
    if (vanished.length > 0) session.send(`* VANISHED (EARLIER) ${formatRanges(vanished)}`);
    const restrict = q.knownUids ? known : null;
    for (const uid of sel.allUids()) {
      const m = sel.message(uid)!;
      if (m.modseq <= q.modseq || (restrict && !restrict.some(([a, b]) => uid >= a && uid <= b))) continue;
      session.send(`* ${sel.seqOf(uid)} FETCH (UID ${uid} FLAGS ${flagList(sel.flagsOf(m))} MODSEQ (${m.modseq}))`);
    }
  }
  return { code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${readOnly ? 'EXAMINE' : 'SELECT'} completed` };
}

export const select = command<SelectArgs>({
  name: 'SELECT',
  states: AUTHENTICATED,
  parse,
  handle: (session, args) => open(session, args, false),
  defersUpdates: true,
});

export const examine = command<SelectArgs>({
  name: 'EXAMINE',
  states: AUTHENTICATED,
  parse,
  handle: (session, args) => open(session, args, true),
  defersUpdates: true,
});
