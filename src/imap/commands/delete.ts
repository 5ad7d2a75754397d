// DELETE (RFC 9051 6.3.5).
import { AUTHENTICATED, command } from './types';
import { MemgateError, NotFoundError } from '../../core/errors';

export default command({
  name: 'DELETE',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    const name = p.mailbox();
    p.end();
    return name;
  },
  async handle(session, name) {
    if (name === 'INBOX') throw new MemgateError('INBOX cannot be deleted', { imapCode: 'CANNOT' });
    const mailbox = await session.ctx.store.getMailbox(session.user!.id, name);
    if (!mailbox) throw new NotFoundError(`Mailbox does not exist: ${name}`);
    // RFC 9051 6.3.5: a \Noselect name with inferiors cannot be deleted (without them, its
    // backend drops it by itself).
    if (mailbox.noSelect) throw new MemgateError(`${name} holds other mailboxes and no messages: delete those`, { imapCode: 'CANNOT' });
    if (session.selected?.id === mailbox.id) session.select(null);
    await session.ctx.store.deleteMailbox(session.user!.id, name);
  },
});
