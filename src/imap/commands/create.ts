// CREATE (RFC 9051 6.3.4), with the SPECIAL-USE USE option (RFC 6154 5.2) accepted.
import { AUTHENTICATED, command } from './types';
import { MemgateError } from '../../core/errors';
import type { SpecialUse } from '../../core/ports';
import { checkNewName, refuseInvalidMutf7 } from '../mailbox-names';
import { mailboxId } from '../object-id';

const USES = new Set(['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive', '\\All', '\\Flagged']);

export default command({
  name: 'CREATE',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    let name = p.mailbox();
    let use: string | null = null;
    if (p.take(' ')) {
      // create-param: (USE (\Sent))
      p.expect('(');
      if (!p.matchWord('USE')) p.fail('Unknown CREATE parameter');
      p.sp();
      const uses = p.list(() => p.flag());
      p.expect(')');
      if (uses.length > 1) throw new MemgateError('Only one special use per mailbox', { imapCode: 'USEATTR' });
      use = uses[0] ?? null;
    }
    p.end();
    refuseInvalidMutf7(p);
    // A trailing delimiter means "a parent for future children" (RFC 9051 6.3.4).
    if (name.endsWith('/')) name = name.replace(/\/+$/, '');
    return { name, use };
  },
  async handle(session, { name, use }) {
    if (name === 'INBOX') throw new MemgateError('INBOX already exists', { imapCode: 'ALREADYEXISTS' });
    checkNewName(name);
    let specialUse: SpecialUse | null = null;
    if (use) {
      const canonical = [...USES].find((u) => u.toLowerCase() === use.toLowerCase());
      if (!canonical) throw new MemgateError(`Unsupported special use ${use}`, { imapCode: 'USEATTR' });
      specialUse = canonical as SpecialUse;
    }
    const created = await session.ctx.store.createMailbox(session.user!.id, name, specialUse);
    // RFC 8474 4.1: the new mailbox's MAILBOXID in the tagged OK.
    return { code: `MAILBOXID (${mailboxId(created)})`, text: 'CREATE completed' };
  },
});
