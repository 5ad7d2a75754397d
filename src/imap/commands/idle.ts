// IDLE (RFC 2177, RFC 9051 6.3.13): updates pushed as they happen until DONE.
import { AUTHENTICATED, command, noArgs } from './types';

export default command({
  name: 'IDLE',
  states: AUTHENTICATED,
  parse: noArgs,
  async handle(session, _args, tag) {
    await session.catchUp(true);
    session.send('+ idling');
    session.idling = true;
    const line = await new Promise<Buffer>((resolve) => {
      session.continuation = resolve;
    });
    session.continuation = null;
    session.idling = false;
    if (session.isClosed) return { answered: true };
    if (line.toString('latin1').trim().toUpperCase() !== 'DONE') {
      session.tagged(tag, 'BAD', null, 'Expected DONE to end IDLE');
      return { answered: true };
    }
    return { text: 'IDLE terminated' };
  },
});
