// STATUS (RFC 9051 6.3.11) with STATUS=SIZE (RFC 8438). The selected mailbox may be asked
// too; its answer comes from the store, like any other's.
import { AUTHENTICATED, command } from './types';
import { NotFoundError } from '../../core/errors';
import { statusItems } from '../list/arguments';
import { sendStatus } from '../list/status';
import { noSelectError } from '../mailbox-names';

export default command({
  name: 'STATUS',
  states: AUTHENTICATED,
  parse(p, session) {
    p.sp();
    const name = p.mailbox();
    p.sp();
    const items = statusItems(p, session.rev2);
    p.end();
    return { name, items };
  },
  async handle(session, { name, items }) {
    const mailbox = await session.ctx.store.getMailbox(session.user!.id, name);
    if (!mailbox) throw new NotFoundError(`Mailbox does not exist: ${name}`);
    if (mailbox.noSelect) throw noSelectError(name);
    await sendStatus(session, mailbox, items);
  },
});
