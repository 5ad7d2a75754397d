// NOOP (RFC 9051 6.1.2): the classic poll for mailbox updates.
import { ANY_STATE, command, noArgs } from './types';

export default command({
  name: 'NOOP',
  states: ANY_STATE,
  parse: noArgs,
  async handle(session) {
    session.dirty = true;
  },
});
