// RESETKEY (RFC 4467 6.2): new URLAUTH keys revoke every URL issued so far.
import { AUTHENTICATED, command } from './types';
import { MemgateError } from '../../core/errors';
import { URLAUTH_MECHANISMS } from '../urlauth/authority';

interface Args {
  mailbox: string | null;
}

export default command<Args>({
  name: 'RESETKEY',
  states: AUTHENTICATED,
  parse(p) {
    let mailbox: string | null = null;
    if (p.take(' ')) {
      mailbox = p.mailbox();
      while (p.take(' ')) {
        const mech = p.atom();
        if (!URLAUTH_MECHANISMS.includes(mech.toUpperCase())) p.fail(`Unknown URLAUTH mechanism ${mech}`);
      }
    }
    p.end();
    return { mailbox };
  },
  async handle(session, { mailbox }) {
    const authority = session.ctx.urlauth;
    if (!authority) throw new MemgateError('URLAUTH is not available', { imapCode: 'CANNOT' });
    await authority.reset(session.user!, mailbox);
    return { text: 'RESETKEY completed' };
  },
});
