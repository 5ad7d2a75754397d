// CHECK (RFC 3501 6.4.1; removed in IMAP4rev2 but still sent by rev1 clients): a NOOP here,
// since every change is committed when it is answered.
import { SELECTED, command, noArgs } from './types';

export default command({
  name: 'CHECK',
  states: SELECTED,
  parse: noArgs,
  async handle(session) {
    session.dirty = true;
  },
});
