// Store events, named after the RFC 5423 vocabulary. Sessions treat an event as a hint
// to catch up from the store (by MODSEQ), so a lost or duplicated event never corrupts a
// session's view; the details let NOTIFY and outband push decide without a query.

interface EventBase {
  userId: string;
  /** Process that published it, so a process can ignore the echo of its own NOTIFY. */
  origin?: string;
}

export interface MessageNew extends EventBase {
  kind: 'MessageNew';
  mailboxId: string;
  uids: number[];
  modseq: number;
}

export interface MessageExpunge extends EventBase {
  kind: 'MessageExpunge';
  mailboxId: string;
  uids: number[];
  modseq: number;
}

export interface FlagsChange extends EventBase {
  kind: 'FlagsSet' | 'FlagsClear';
  mailboxId: string;
  uids: number[];
  modseq: number;
}

export interface MailboxChange extends EventBase {
  kind: 'MailboxCreate' | 'MailboxDelete' | 'MailboxRename' | 'MailboxSubscribe' | 'MailboxUnSubscribe';
  mailboxId: string | null;
  name: string;
  oldName?: string;
}

export type StoreEvent = MessageNew | MessageExpunge | FlagsChange | MailboxChange;

export type StoreEventKind = StoreEvent['kind'];
