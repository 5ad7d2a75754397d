// IDLE (RFC 2177, RFC 9051 6.3.13): updates pushed as they happen until DONE. The session
// holds the IDLE state itself (Session.startIdle), so an idle connection keeps no handler
// waiting on a promise; DONE is answered by the session.
import { AUTHENTICATED, command, noArgs } from './types';

export default command({
  name: 'IDLE',
  states: AUTHENTICATED,
  parse: noArgs,
  async handle(session, _args, tag) {
    await session.catchUp(true);
    if (session.isClosed) return { answered: true };
    session.startIdle(tag);
    return { answered: true };
  },
});
