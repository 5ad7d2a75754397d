// LSUB (RFC 3501 6.3.9): gone from IMAP4rev2 (LIST (SUBSCRIBED) replaces it), kept for
// IMAP4rev1 clients.
import { AUTHENTICATED, command } from './types';
import { listMailbox } from '../list/arguments';
import { canonicalPattern } from '../list/pattern';
import { MailboxTree } from '../list/entries';
import { sendListLine } from './list';

export default command({
  name: 'LSUB',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    const reference = p.mailbox();
    p.sp();
    const pattern = listMailbox(p);
    p.end();
    return { reference, pattern };
  },
  async handle(session, { reference, pattern }) {
    const userId = session.user!.id;
    const store = session.ctx.store;
    const [mailboxes, subscriptions] = await Promise.all([store.listMailboxes(userId), store.listSubscriptions(userId)]);
    const tree = new MailboxTree(mailboxes, subscriptions);
    for (const entry of tree.lsub([canonicalPattern(reference, pattern)])) sendListLine(session, 'LSUB', entry);
  },
});
