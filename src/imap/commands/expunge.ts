// EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315 / RFC 9051 6.4.9).
import { SELECTED, command, noArgs } from './types';
import { MemgateError } from '../../core/errors';
import { expungeDeleted } from '../expunge-deleted';
import { resolveSet } from '../message-set';
import { sendExpunged } from '../condstore';
import type { SequenceSet } from '../wire/sequence';
import type { Session } from '../session';

async function run(session: Session, only: Set<number> | null) {
  const sel = session.selected!;
  if (sel.readOnly) throw new MemgateError('Mailbox is read-only', { imapCode: 'CANNOT' });
  const removed = (await expungeDeleted(session, only)).filter((uid) => sel.message(uid) !== undefined);
  sendExpunged(session, sel.removeOwn(removed), removed);
}

export const expunge = command({
  name: 'EXPUNGE',
  states: SELECTED,
  parse: noArgs,
  handle: async (session) => run(session, null),
});

export const uidExpunge = command<SequenceSet>({
  name: 'UID EXPUNGE',
  states: SELECTED,
  parse(p) {
    p.sp();
    const set = p.sequenceSet();
    p.end();
    return set;
  },
  handle: async (session, set) => run(session, new Set(resolveSet(session.selected!, set, true))),
});
