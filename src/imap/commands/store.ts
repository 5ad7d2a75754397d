// STORE and UID STORE (RFC 9051 6.4.6).
import { SELECTED, command } from './types';
import { MemgateError } from '../../core/errors';
import type { FlagOperation, MailboxMessage } from '../../core/ports';
import { resolveSet } from '../message-set';
import { clientFlags, flagList } from '../flags';
import { announceKeywordsIfNew } from '../updates';
import type { SequenceSet } from '../wire/sequence';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';

interface StoreArgs {
  set: SequenceSet;
  op: FlagOperation;
  silent: boolean;
  flags: string[];
}

function parse(p: Parser): StoreArgs {
  p.sp();
  const set = p.sequenceSet();
  p.sp();
  const item = p.atom().toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) p.fail('Expected FLAGS, +FLAGS or -FLAGS');
  p.sp();
  const flags = p.flagList();
  p.end();
  const op: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  return { set, op, silent: m[2] !== undefined, flags };
}

async function run(session: Session, args: StoreArgs, byUid: boolean) {
  const sel = session.selected!;
  if (sel.readOnly) throw new MemgateError('Mailbox is read-only', { imapCode: 'CANNOT' });
  const flags = clientFlags(args.flags);
  const uids = resolveSet(sel, args.set, byUid).filter((uid) => !sel.isExpungePending(uid));
  if (uids.length === 0) return;
  const result = await session.ctx.store.storeFlags(session.user!.id, sel.id, uids, args.op, flags);
  const changed = new Map<number, MailboxMessage>();
  for (const m of result.updated) {
    changed.set(m.uid, m);
    sel.updateMessage(m);
  }
  announceKeywordsIfNew(session, result.updated.map((m) => m.flags));
  for (const uid of uids) {
    const m = changed.get(uid) ?? sel.message(uid);
    if (!m) continue;
    // .SILENT still reports changes made by others; our own are known to the client.
    if (args.silent) continue;
    session.send(`* ${sel.seqOf(uid)} FETCH (${byUid ? `UID ${uid} ` : ''}FLAGS ${flagList(sel.flagsOf(m))})`);
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
