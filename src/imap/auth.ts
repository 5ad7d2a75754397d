// Shared by LOGIN and AUTHENTICATE: password check, slow-down after failures, lock-out.
import { MemgateError } from '../core/errors';
import type { Session } from './session';

export async function authenticateUser(session: Session, name: string, password: string): Promise<void> {
  const user = await session.ctx.store.authenticate(name, password);
  if (user) {
    session.loggedIn(user);
    return;
  }
  session.authFailures++;
  const { authFailDelayMs, maxAuthFailures } = session.ctx.limits;
  // Each failure doubles the wait before the answer (capped), slowing password guessing.
  const delay = Math.min(authFailDelayMs * 2 ** (session.authFailures - 1), 8000);
  await new Promise((resolve) => setTimeout(resolve, delay));
  session.ctx.log.info({ user: name, remote: session.transport.remoteAddress }, 'failed login');
  if (session.authFailures >= maxAuthFailures) {
    session.send('* BYE Too many failed authentication attempts');
    session.close();
  }
  throw new MemgateError('Invalid credentials', { imapCode: 'AUTHENTICATIONFAILED' });
}
