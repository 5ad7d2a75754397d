// APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), APPENDUID (RFC 4315) and
// binary literals (RFC 3516). All messages of one command get UIDs in one transaction.
import { AUTHENTICATED, command } from './types';
import { MemgateError, ProtocolError } from '../../core/errors';
import type { AppendInput } from '../../core/ports';
import { clientFlags } from '../flags';
import { formatSequence } from '../wire/sequence';
import { destination } from './copy';
import { summaryText } from '../fetch/summary';
import { assembleCatenate, parseCatenate, type CatenatePart } from '../catenate';

interface AppendArgs {
  mailbox: string;
  messages: Array<AppendInput & { catenate?: CatenatePart[] }>;
}

export default command<AppendArgs>({
  name: 'APPEND',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    const mailbox = p.mailbox();
    const messages: AppendArgs['messages'] = [];
    while (p.take(' ')) {
      let flags: string[] = [];
      let internalDate: Date | undefined;
      if (p.peekChar('(')) {
        flags = clientFlags(p.list(() => p.flag()));
        p.sp();
      }
      if (p.peekChar('"')) {
        internalDate = p.dateTime();
        p.sp();
      }
      if (p.matchWord('UTF8')) {
        // RFC 6855 UTF8 (literal8): accepted as a plain message.
        p.sp();
        p.expect('(');
        const raw = p.literal();
        p.expect(')');
        messages.push({ raw, flags, internalDate });
        continue;
      }
      if (p.matchWord('CATENATE')) {
        // RFC 4469: assembled in handle(), once the URLs can be resolved.
        p.sp();
        messages.push({ raw: Buffer.alloc(0), flags, internalDate, catenate: parseCatenate(p) });
        continue;
      }
      if (!p.atLiteral()) p.fail('Expected a message literal');
      const raw = p.literal();
      messages.push({ raw, flags, internalDate });
    }
    p.end();
    if (messages.length === 0) throw new ProtocolError('APPEND needs a message');
    return { mailbox, messages };
  },
  async handle(session, { mailbox, messages }) {
    // A missing destination is [TRYCREATE] before any CATENATE URL is looked at (RFC 4469 5).
    const dest = await destination(session, mailbox);
    for (const m of messages) if (m.catenate) m.raw = await assembleCatenate(session, m.catenate);
    for (const m of messages) {
      if (m.raw.length === 0) throw new MemgateError('Empty message', { imapCode: 'CANNOT' });
    }
    // The bytes are in hand now: derive ENVELOPE/BODYSTRUCTURE once, so no FETCH ever
    // has to load and parse the message for them.
    const withSummaries = messages.map((m) => ({ ...m, summary: summaryText(m.raw) }));
    const result = await session.ctx.store.appendMessages(session.user!.id, dest.id, withSummaries);
    if (session.selected?.id === dest.id) session.dirty = true;
    return { code: `APPENDUID ${result.uidValidity} ${formatSequence(result.uids)}`, text: 'APPEND completed' };
  },
});
