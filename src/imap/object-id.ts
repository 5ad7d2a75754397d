// OBJECTID (RFC 8474): MAILBOXID and EMAILID are the store's row ids, which survive RENAME
// (the mailbox row is renamed in place) and MOVE/COPY (the copies share the content row).
// A letter in front keeps them from looking like numbers a client could do arithmetic on.
import type { Mailbox, MailboxMessage } from '../core/ports';

export function mailboxId(mailbox: Pick<Mailbox, 'id'>): string {
  return `M${mailbox.id}`;
}

export function emailId(message: Pick<MailboxMessage, 'contentId'>): string {
  return `E${message.contentId}`;
}

/** The content id an EMAILID names, or null for one memgate never gave out. */
export function contentIdOf(objectId: string): string | null {
  return /^E[1-9][0-9]{0,18}$/.test(objectId) ? objectId.slice(1) : null;
}

/** THREADID: memgate does not thread messages (yet), which RFC 8474 5.2 allows as NIL. */
export const THREAD_ID_NIL = 'NIL';
