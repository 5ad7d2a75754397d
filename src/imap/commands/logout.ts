// LOGOUT (RFC 9051 6.1.3).
import { ANY_STATE, command, noArgs } from './types';

export default command({
  name: 'LOGOUT',
  states: ANY_STATE,
  parse: noArgs,
  async handle(session, _args, tag) {
    session.send('* BYE memgate logging out');
    session.tagged(tag, 'OK', null, 'LOGOUT completed');
    session.close();
  },
});
