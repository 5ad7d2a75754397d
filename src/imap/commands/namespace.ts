// NAMESPACE (RFC 2342, RFC 9051 6.3.10): one personal namespace, "/" delimited.
import { AUTHENTICATED, command, noArgs } from './types';

export default command({
  name: 'NAMESPACE',
  states: AUTHENTICATED,
  parse: noArgs,
  async handle(session) {
    session.send('* NAMESPACE (("" "/")) NIL NIL');
  },
});
