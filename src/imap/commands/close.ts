// CLOSE (RFC 9051 6.4.1): silently expunge \Deleted (unless read-only), then leave.
import { SELECTED, command, noArgs } from './types';
import { expungeDeleted } from '../expunge-deleted';

export default command({
  name: 'CLOSE',
  states: SELECTED,
  parse: noArgs,
  async handle(session) {
    const sel = session.selected!;
    if (!sel.readOnly) await expungeDeleted(session, null);
    session.select(null);
  },
});
