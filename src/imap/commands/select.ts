// SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3).
import { AUTHENTICATED, command } from './types';
import { NotFoundError } from '../../core/errors';
import { SelectedMailbox } from '../selected';
import { SYSTEM_FLAGS, flagList } from '../flags';
import { wireName } from '../mailbox-names';
import { serialize } from '../wire/encode';
import type { Session } from '../session';
import type { Parser } from '../wire/parser';

function parse(p: Parser): string {
  p.sp();
  const name = p.mailbox();
  p.end();
  return name;
}

async function open(session: Session, name: string, readOnly: boolean) {
  // Leaving the old mailbox first: a failed SELECT leaves none selected (RFC 9051 6.3.2).
  session.select(null);
  const userId = session.user!.id;
  const mailbox = await session.ctx.store.getMailbox(userId, name);
  if (!mailbox) throw new NotFoundError(`Mailbox does not exist: ${name}`);
  const messages = await session.ctx.store.listMessages(userId, mailbox.id);
  const sel = new SelectedMailbox(mailbox, messages, readOnly);
  sel.showRecent = !session.rev2;
  // \Recent: SELECT claims the messages no session has seen; EXAMINE only looks.
  const firstRecent = readOnly
    ? sel.count - (await session.ctx.store.countRecent(userId, mailbox.id))
    : null;
  if (firstRecent !== null) {
    const uids = sel.allUids();
    if (firstRecent < uids.length) sel.markRecent(uids[Math.max(0, firstRecent)]);
  } else {
    sel.markRecent(await session.ctx.store.claimRecent(userId, mailbox.id, mailbox.uidNext));
  }
  const flags = [...SYSTEM_FLAGS, ...sel.announceKeywords()];
  session.send(`* ${sel.count} EXISTS`);
  if (!session.rev2) session.send(`* ${sel.recent.size} RECENT`);
  session.send(`* FLAGS ${flagList(flags)}`);
  session.send(`* OK [PERMANENTFLAGS ${readOnly ? '()' : flagList([...flags, '\\*'])}] Flags permitted`);
  session.send(`* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${mailbox.uidNext}] Predicted next UID`);
  if (!session.rev2) {
    const firstUnseen = messages.findIndex((m) => !m.flags.includes('\\Seen'));
    if (firstUnseen >= 0) session.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  }
  if (session.rev2) {
    const chunks = ['* LIST () "/" ', ...serialize(wireName(session, mailbox.name)), '\r\n'];
    session.write(chunks);
  }
  session.select(sel);
  return { code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${readOnly ? 'EXAMINE' : 'SELECT'} completed` };
}

export const select = command({
  name: 'SELECT',
  states: AUTHENTICATED,
  parse,
  handle: (session, name) => open(session, name, false),
});

export const examine = command({
  name: 'EXAMINE',
  states: AUTHENTICATED,
  parse,
  handle: (session, name) => open(session, name, true),
});
