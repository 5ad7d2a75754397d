// RENAME (RFC 9051 6.3.6): the whole hierarchy moves; RENAME INBOX moves its messages.
import { AUTHENTICATED, command } from './types';
import { NotFoundError } from '../../core/errors';
import { checkNewName, refuseInvalidMutf7 } from '../mailbox-names';

export default command({
  name: 'RENAME',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    const from = p.mailbox();
    p.sp();
    const to = p.mailbox().replace(/\/+$/, '');
    p.end();
    refuseInvalidMutf7(p);
    return { from, to };
  },
  async handle(session, { from, to }) {
    checkNewName(to);
    const userId = session.user!.id;
    const source = await session.ctx.store.getMailbox(userId, from);
    if (!source) throw new NotFoundError(`Mailbox does not exist: ${from}`);
    await session.ctx.store.renameMailbox(userId, from, to);
  },
});
