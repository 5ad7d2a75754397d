// CAPABILITY (RFC 9051 6.1.1).
import { ANY_STATE, command, noArgs } from './types';

export default command({
  name: 'CAPABILITY',
  states: ANY_STATE,
  parse: noArgs,
  async handle(session) {
    session.send(`* CAPABILITY ${session.capabilityList().join(' ')}`);
  },
});
