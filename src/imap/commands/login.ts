// LOGIN (RFC 9051 6.2.3).
import { MemgateError } from '../../core/errors';
import { NOT_AUTHENTICATED, command } from './types';
import { authenticateUser } from '../auth';

export default command({
  name: 'LOGIN',
  states: NOT_AUTHENTICATED,
  parse(p) {
    p.sp();
    const user = p.astring();
    p.sp();
    const password = p.astring();
    p.end();
    return { user, password };
  },
  async handle(session, { user, password }) {
    if (!session.secure) {
      throw new MemgateError('LOGIN is disabled until TLS is active (use STARTTLS or port 993)', { imapCode: 'PRIVACYREQUIRED' });
    }
    await authenticateUser(session, user, password);
    return { code: `CAPABILITY ${session.capabilityList().join(' ')}`, text: 'LOGIN completed' };
  },
});
