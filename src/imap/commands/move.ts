// MOVE / UID MOVE (RFC 6851, RFC 9051 6.4.8).
import { SELECTED, command } from './types';
import { MemgateError } from '../../core/errors';
import { resolveSet } from '../message-set';
import { sendExpunged } from '../condstore';
import { copyUidCode, destination, parseTransfer, type TransferArgs } from './copy';
import type { Session } from '../session';

async function run(session: Session, args: TransferArgs, byUid: boolean) {
  const sel = session.selected!;
  if (sel.readOnly) throw new MemgateError('Mailbox is read-only', { imapCode: 'CANNOT' });
  const dest = await destination(session, args.dest);
  const uids = resolveSet(sel, args.set, byUid);
  if (uids.length === 0) return { text: 'No messages moved' };
  const result = await session.ctx.store.moveMessages(session.user!.id, sel.id, uids, dest.id);
  if (result.destUids.length > 0) {
    session.send(`* OK [${copyUidCode(result.uidValidity, result.sourceUids, result.destUids)}] Moved`);
  }
  const gone = result.sourceUids.filter((uid) => sel.message(uid) !== undefined);
  sendExpunged(session, sel.removeOwn(gone), gone);
  return { text: 'MOVE completed' };
}

export const move = command<TransferArgs>({
  name: 'MOVE',
  states: SELECTED,
  parse: parseTransfer,
  handle: (session, args) => run(session, args, false),
});

export const uidMove = command<TransferArgs>({
  name: 'UID MOVE',
  states: SELECTED,
  parse: parseTransfer,
  handle: (session, args) => run(session, args, true),
});
