// STORE and UID STORE (RFC 9051 6.4.6), with UNCHANGEDSINCE and [MODIFIED] (RFC 7162 3.1.3).
import { SELECTED, command } from './types';
import { MemgateError } from '../../core/errors';
import type { FlagOperation, MailboxMessage } from '../../core/ports';
import { resolveSet } from '../message-set';
import { clientFlags, flagList } from '../flags';
import { announceKeywordsIfNew } from '../updates';
import { enableCondstore } from '../condstore';
import { formatSequence, type SequenceSet } from '../wire/sequence';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';

interface StoreArgs {
  set: SequenceSet;
  op: FlagOperation;
  silent: boolean;
  flags: string[];
  /** UNCHANGEDSINCE (RFC 7162 3.1.3), null when not given. */
  unchangedSince: number | null;
}

function parse(p: Parser): StoreArgs {
  p.sp();
  const set = p.sequenceSet();
  p.sp();
  let unchangedSince: number | null = null;
  if (p.peekChar('(')) {
    // store-modifiers (RFC 4466 2.5)
    p.list(() => {
      const name = p.atom().toUpperCase();
      if (name !== 'UNCHANGEDSINCE') p.fail(`Unknown STORE modifier ${name.slice(0, 40)}`);
      if (unchangedSince !== null) p.fail('UNCHANGEDSINCE given twice');
      p.sp();
      unchangedSince = p.modseq();
    });
    p.sp();
  }
  const item = p.atom().toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) p.fail('Expected FLAGS, +FLAGS or -FLAGS');
  p.sp();
  const flags = p.flagList();
  p.end();
  const op: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  return { set, op, silent: m[2] !== undefined, flags, unchangedSince };
}

async function run(session: Session, args: StoreArgs, byUid: boolean) {
  const sel = session.selected!;
  if (sel.readOnly) throw new MemgateError('Mailbox is read-only', { imapCode: 'CANNOT' });
  const flags = clientFlags(args.flags);
  if (args.unchangedSince !== null) enableCondstore(session);
  const uids = resolveSet(sel, args.set, byUid).filter((uid) => !sel.isExpungePending(uid));
  if (uids.length === 0) return;
  const result = await session.ctx.store.storeFlags(session.user!.id, sel.id, uids, args.op, flags, args.unchangedSince ?? undefined);
  const changed = new Map<number, MailboxMessage>();
  for (const m of result.updated) {
    changed.set(m.uid, m);
    sel.updateMessage(m);
  }
  announceKeywordsIfNew(session, result.updated.map((m) => m.flags));
  const modified = new Set(result.modified);
  const condstore = session.condstore;
  for (const uid of uids) {
    const m = changed.get(uid) ?? sel.message(uid);
    if (!m || modified.has(uid)) continue;
    const head = `* ${sel.seqOf(uid)} FETCH (${byUid || session.qresync ? `UID ${uid} ` : ''}`;
    const modseq = `MODSEQ (${m.modseq})`;
    if (args.silent) {
      // .SILENT still reports changes made by others; our own are known to the client,
      // except their new MODSEQ once CONDSTORE is on (RFC 7162 3.1.3).
      if (condstore && changed.has(uid)) session.send(`${head}${modseq})`);
      continue;
    }
    session.send(`${head}FLAGS ${flagList(sel.flagsOf(m))}${condstore ? ' ' + modseq : ''})`);
  }
  if (result.modified.length > 0) {
    const failed = byUid ? result.modified : result.modified.map((uid) => sel.seqOf(uid));
    return { code: `MODIFIED ${formatSequence(failed.sort((a, b) => a - b))}`, text: 'Conditional STORE failed' };
  }
}

export const store = command<StoreArgs>({
  name: 'STORE',
  states: SELECTED,
  parse,
  handle: (session, args) => run(session, args, false),
  blocksExpunge: true,
});

export const uidStore = command<StoreArgs>({
  name: 'UID STORE',
  states: SELECTED,
  parse,
  handle: (session, args) => run(session, args, true),
});
