// STARTTLS (RFC 9051 6.2.1).
import { CannotError, MemgateError } from '../../core/errors';
import { NOT_AUTHENTICATED, command, noArgs } from './types';

export default command({
  name: 'STARTTLS',
  states: NOT_AUTHENTICATED,
  parse: noArgs,
  async handle(session, _args, tag) {
    if (session.transport.tlsActive) throw new MemgateError('TLS is already active', { imapStatus: 'BAD' });
    if (!session.ctx.tls) throw new CannotError('TLS is not configured');
    session.tagged(tag, 'OK', null, 'Begin TLS negotiation now');
    // Anything pipelined after STARTTLS in cleartext is discarded (command injection).
    session.resetReader();
    await session.transport.startTls();
    return { answered: true };
  },
});
