// COPY / UID COPY (RFC 9051 6.4.7) with COPYUID (RFC 4315).
import { SELECTED, command } from './types';
import { MemgateError } from '../../core/errors';
import { resolveSet } from '../message-set';
import { formatSequence, type SequenceSet } from '../wire/sequence';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';
import type { Mailbox } from '../../core/ports';
import { noSelectError } from '../mailbox-names';

export interface TransferArgs {
  set: SequenceSet;
  dest: string;
}

export function parseTransfer(p: Parser): TransferArgs {
  p.sp();
  const set = p.sequenceSet();
  p.sp();
  const dest = p.mailbox();
  p.end();
  return { set, dest };
}

/** The destination of COPY/MOVE/APPEND: a missing one gets [TRYCREATE] (RFC 9051 6.4.7). */
export async function destination(session: Session, name: string): Promise<Mailbox> {
  const mailbox = await session.ctx.store.getMailbox(session.user!.id, name);
  if (!mailbox) throw new MemgateError(`Mailbox does not exist: ${name}`, { imapCode: 'TRYCREATE' });
  if (mailbox.noSelect) throw noSelectError(name);
  return mailbox;
}

export function copyUidCode(uidValidity: number, source: number[], dest: number[]): string {
  return `COPYUID ${uidValidity} ${formatSequence(source)} ${formatSequence(dest)}`;
}

async function run(session: Session, args: TransferArgs, byUid: boolean) {
  const sel = session.selected!;
  const dest = await destination(session, args.dest);
  const uids = resolveSet(sel, args.set, byUid);
  if (uids.length === 0) return { text: 'No messages copied' };
  const result = await session.ctx.store.copyMessages(session.user!.id, sel.id, uids, dest.id);
  if (result.sourceUids.length < uids.length && !byUid) {
    throw new MemgateError('Some messages were expunged meanwhile', { imapCode: 'EXPUNGEISSUED' });
  }
  if (result.destUids.length === 0) return { text: 'No messages copied' };
  return { code: copyUidCode(result.uidValidity, result.sourceUids, result.destUids), text: 'COPY completed' };
}

export const copy = command<TransferArgs>({
  name: 'COPY',
  states: SELECTED,
  parse: parseTransfer,
  handle: (session, args) => run(session, args, false),
});

export const uidCopy = command<TransferArgs>({
  name: 'UID COPY',
  states: SELECTED,
  parse: parseTransfer,
  handle: (session, args) => run(session, args, true),
});
