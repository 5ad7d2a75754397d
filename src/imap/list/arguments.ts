// Argument grammar shared by LIST, LSUB and STATUS (RFC 9051 9, RFC 5258 4, RFC 5819).
import { ProtocolError } from '../../core/errors';
import { decodeMutf7 } from '../wire/mutf7';
import type { Parser } from '../wire/parser';

/**
 * list-mailbox: 1*list-char (atom characters plus "%", "*" and "]") or a string. Decoded like
 * a mailbox name: modified UTF-7 for IMAP4rev1 sessions, UTF-8 once UTF8=ACCEPT is on.
 */
export function listMailbox(p: Parser): string {
  if (p.peekChar('"') || p.atLiteral()) return decodeName(p.stringBytes(), p.utf8Names);
  const start = p.pos;
  p.atom('%*]');
  return decodeName(p.bytes.subarray(start, p.pos), p.utf8Names);
}

function decodeName(raw: Buffer, utf8Names: boolean): string {
  const text = raw.toString('latin1');
  if (!utf8Names && !/[^\x00-\x7f]/.test(text)) {
    // A pattern that is not valid modified UTF-7 matches no name (as Dovecot): taken literally.
    try {
      return decodeMutf7(text);
    } catch {
      return text;
    }
  }
  // UTF-8 session, or a rev1 client sending raw UTF-8 (accepted like mailbox names).
  const name = raw.toString('utf8');
  if (name.includes('\ufffd')) throw new ProtocolError('Mailbox pattern is not valid UTF-8');
  return name;
}

/**
 * The STATUS data items memgate answers (RFC 9051 6.3.11, RFC 8438 STATUS=SIZE,
 * RFC 7162 3.1.6 HIGHESTMODSEQ, RFC 8474 4.3 MAILBOXID).
 */
export type StatusItem = 'MESSAGES' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'DELETED' | 'SIZE' | 'RECENT' | 'HIGHESTMODSEQ' | 'MAILBOXID';

const STATUS_ITEMS: ReadonlySet<string> = new Set<StatusItem>([
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'MAILBOXID',
]);

/** "(" status-att *(SP status-att) ")". RECENT exists only in IMAP4rev1. */
export function statusItems(p: Parser, rev2: boolean): StatusItem[] {
  const start = p.pos;
  const items = p.list(() => p.atom().toUpperCase());
  if (items.length === 0) {
    p.pos = start;
    p.fail('Empty STATUS item list');
  }
  for (const item of items) {
    if (!STATUS_ITEMS.has(item) || (rev2 && item === 'RECENT')) {
      throw new ProtocolError(`Unknown STATUS item ${item.slice(0, 40)}`);
    }
  }
  return [...new Set(items)] as StatusItem[];
}
