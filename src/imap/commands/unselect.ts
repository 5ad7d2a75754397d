// UNSELECT (RFC 3691, RFC 9051 6.4.2): leave the mailbox without expunging.
import { SELECTED, command, noArgs } from './types';

export default command({
  name: 'UNSELECT',
  states: SELECTED,
  parse: noArgs,
  async handle(session) {
    session.select(null);
  },
});
