// Mailbox names on the wire: modified UTF-7 for IMAP4rev1 clients, UTF-8 once enabled.
import { astring, type Literal } from './wire/encode';
import { encodeMutf7 } from './wire/mutf7';
import type { Session } from './session';
import { MemgateError } from '../core/errors';

export function wireName(session: Session, name: string): string | Literal {
  return session.utf8 ? astring(name, true) : astring(encodeMutf7(name));
}

/** Names that arrived as invalid modified UTF-7 cannot be created (RFC 3501 5.1.3). */
export function refuseInvalidMutf7(p: { invalidMailboxName: string | null }): void {
  if (p.invalidMailboxName !== null) {
    throw new MemgateError(`Mailbox name is not valid modified UTF-7: ${p.invalidMailboxName}`, { imapCode: 'CANNOT' });
  }
}

/** Rejects names the store cannot hold (RFC 9051 5.1). */
export function checkNewName(name: string): void {
  if (name === '' || name.startsWith('/') || name.endsWith('/') || name.includes('//')) {
    throw new MemgateError(`Invalid mailbox name`, { imapCode: 'CANNOT' });
  }
  if (/[*%\x00-\x1f\x7f]/.test(name)) throw new MemgateError('Mailbox names may not contain wildcards or control characters', { imapCode: 'CANNOT' });
  if (name.length > 512) throw new MemgateError('Mailbox name too long', { imapCode: 'LIMIT' });
}

/** SELECT, STATUS, APPEND, COPY or MOVE on a \Noselect mailbox (a backend's hierarchy level). */
export function noSelectError(name: string): MemgateError {
  return new MemgateError(`${name} is not selectable: it only holds other mailboxes`, { imapCode: 'CANNOT' });
}
