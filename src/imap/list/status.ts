// The `* STATUS` response, for STATUS and for LIST-STATUS (RFC 9051 7.3.3, RFC 5819).
import type { Mailbox, MailStore } from '../../core/ports';
import { wireName } from '../mailbox-names';
import { serialize } from '../wire/encode';
import type { Session } from '../session';
import type { StatusItem } from './arguments';
import { enableCondstore } from '../condstore';
import { mailboxId } from '../object-id';

const NEEDS_COUNTS: ReadonlySet<StatusItem> = new Set<StatusItem>(['MESSAGES', 'UNSEEN', 'DELETED', 'SIZE']);

/** "MESSAGES 3 UIDNEXT 7 ...", in the order the client asked. */
export async function statusValues(store: MailStore, mailbox: Mailbox, items: readonly StatusItem[]): Promise<string> {
  const counts = items.some((i) => NEEDS_COUNTS.has(i)) ? await store.mailboxCounts(mailbox.userId, mailbox.id) : null;
  // \Recent (IMAP4rev1): messages no session has claimed yet.
  const recent = items.includes('RECENT') ? await store.countRecent(mailbox.userId, mailbox.id) : 0;
  return items
    .map((item) => {
      switch (item) {
        case 'MESSAGES':
          return `MESSAGES ${counts!.messages}`;
        case 'UIDNEXT':
          return `UIDNEXT ${mailbox.uidNext}`;
        case 'UIDVALIDITY':
          return `UIDVALIDITY ${mailbox.uidValidity}`;
        case 'UNSEEN':
          return `UNSEEN ${counts!.unseen}`;
        case 'DELETED':
          return `DELETED ${counts!.deleted}`;
        case 'SIZE':
          return `SIZE ${counts!.size}`;
        case 'RECENT':
          return `RECENT ${recent}`;
        case 'HIGHESTMODSEQ':
          return `HIGHESTMODSEQ ${mailbox.highestModseq}`;
        case 'MAILBOXID':
          return `MAILBOXID (${mailboxId(mailbox)})`;
        default: {
          const never: never = item;
          return never;
        }
      }
    })
    .join(' ');
}

export async function sendStatus(session: Session, mailbox: Mailbox, items: readonly StatusItem[]): Promise<void> {
  // STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command (RFC 7162 3.1).
  if (items.includes('HIGHESTMODSEQ')) enableCondstore(session);
  const values = await statusValues(session.ctx.store, mailbox, items);
  session.write(['* STATUS ', ...serialize(wireName(session, mailbox.name)), ` (${values})\r\n`]);
}
