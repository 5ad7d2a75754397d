// UNAUTHENTICATE (RFC 8437): log out without closing the connection, so that a client can
// log in again (as another user) over the same TLS and COMPRESS layers.
import { AUTHENTICATED, command, noArgs } from './types';

export default command({
  name: 'UNAUTHENTICATE',
  states: AUTHENTICATED,
  parse: noArgs,
  async handle(session) {
    // A selected mailbox is closed without expunging (like UNSELECT), RFC 8437 3.
    session.unauthenticate();
    return { text: 'UNAUTHENTICATE completed' };
  },
});
