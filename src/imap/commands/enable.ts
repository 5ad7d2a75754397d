// ENABLE (RFC 5161): the extensions named are switched on for this session.
import { AUTHENTICATED, command } from './types';
import { ENABLEABLE } from '../capabilities';
import { enableCondstore } from '../condstore';

export default command({
  name: 'ENABLE',
  states: AUTHENTICATED,
  parse(p) {
    const names: string[] = [];
    while (p.take(' ')) names.push(p.atom().toUpperCase());
    p.end();
    if (names.length === 0) p.fail('ENABLE needs at least one capability');
    return names;
  },
  async handle(session, names) {
    const newly: string[] = [];
    for (const name of names) {
      if (!ENABLEABLE.has(name) || session.enabled.has(name)) continue;
      // QRESYNC implies CONDSTORE (RFC 7162 3.2.3); either announces HIGHESTMODSEQ when selected.
      if (name === 'CONDSTORE' || name === 'QRESYNC') enableCondstore(session);
      session.enabled.add(name);
      newly.push(name === 'IMAP4REV2' ? 'IMAP4rev2' : name);
    }
    session.send(`* ENABLED${newly.map((n) => ' ' + n).join('')}`);
  },
});
