// The interfaces every module depends on. This is a leaf module: it imports only other
// files of src/core, so that no import cycle can run through it.
import type { StoreEvent } from './events';

/** A gateway user: the identity a client logs in as. */
export interface User {
  id: string;
  name: string;
  createdAt: Date;
}

/** Which kind of store an account is: the shadow store itself, or a backend adapter. */
export type AccountKind = 'local' | 'pop3' | 'graph' | 'gmail';

export interface Account {
  id: string;
  userId: string;
  kind: AccountKind;
  /** Folder prefix for a non-primary account (`Work` gives `Work/INBOX`); null for the primary. */
  label: string | null;
  isPrimary: boolean;
}

/** RFC 6154 special-use attributes memgate assigns. */
export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

export interface Mailbox {
  id: string;
  userId: string;
  accountId: string;
  /** Full hierarchical name, UTF-8, '/' as delimiter; INBOX is always spelled `INBOX`. */
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  /** Backend folder/label id, null for mailboxes that live only in the shadow store. */
  backendId: string | null;
  /**
   * Holds only other mailboxes (RFC 9051 \Noselect): a level of a backend's hierarchy that
   * is no folder itself. It cannot be selected and takes no messages.
   */
  noSelect?: boolean;
}

/** One message as it sits in one mailbox (the same content may sit in several). */
export interface MailboxMessage {
  uid: number;
  modseq: number;
  /** System flags (`\Seen`...) and keywords, as the client spelled them first. */
  flags: string[];
  internalDate: Date;
  /** RFC822.SIZE: exact octet count of the stored message. */
  size: number;
  /** Identifies the immutable content (also the OBJECTID EMAILID). */
  contentId: string;
}

/** What IMAP needs of a message's content; computed once at arrival and never changed. */
export interface MessageContent {
  id: string;
  raw: Buffer;
}

/** getHeaderContent's answer: `raw` is the whole message, or only its header section. */
export interface HeaderContent extends MessageContent {
  /** `raw` is the header section alone (through the blank line): the body is not fetched yet. */
  headerOnly: boolean;
}

export interface MailboxCounts {
  messages: number;
  unseen: number;
  deleted: number;
  /** Sum of RFC822.SIZE (STATUS=SIZE). */
  size: number;
}

/** Everything that happened in a mailbox since a MODSEQ, for a session to catch up. */
export interface MailboxDelta {
  /** Messages with uid > the caller's last known UID, ascending by uid. */
  added: MailboxMessage[];
  /** Known messages (uid <= last known UID) whose modseq is above the caller's. */
  changed: MailboxMessage[];
  /** UIDs expunged with a modseq above the caller's, ascending. */
  expunged: number[];
  highestModseq: number;
  uidNext: number;
}

/** Expunged UIDs since a modseq, for QRESYNC's VANISHED (EARLIER) (RFC 7162 3.2.5, 3.2.6). */
export interface ExpungedSince {
  /** UIDs expunged with a modseq above the caller's (within the asked UID ranges), ascending. */
  uids: number[];
  /**
   * False when the expunge log was trimmed above the caller's modseq: then any UID that is
   * not in the mailbox may have been expunged since, and must be reported as such.
   */
  complete: boolean;
}

/** Inclusive UID ranges, ascending. */
export type UidRanges = ReadonlyArray<readonly [number, number]>;

export type FlagOperation = 'set' | 'add' | 'remove';

export interface StoreFlagsResult {
  /** Messages whose flags changed (new modseq), and unchanged ones when `includeUnchanged`. */
  updated: MailboxMessage[];
  /** UIDs that failed an UNCHANGEDSINCE test (RFC 7162 [MODIFIED]). */
  modified: number[];
}

export interface CopyResult {
  uidValidity: number;
  sourceUids: number[];
  destUids: number[];
}

export interface AppendInput {
  raw: Buffer;
  flags: string[];
  internalDate?: Date;
  /** The protocol layer's derived data (see saveContentSummary), stored with the content. */
  summary?: string;
}

export interface AppendResult {
  uidValidity: number;
  uids: number[];
}

/**
 * The shadow store, as the protocol layers see it. Every call is scoped by the user:
 * a mailbox id of another user is treated as not existing (design invariant 8).
 */
export interface MailStore {
  // users
  createUser(name: string, password: string): Promise<User>;
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<User[]>;
  /** Returns the user when the password matches, else null. */
  authenticate(name: string, password: string): Promise<User | null>;

  // mailboxes
  listMailboxes(userId: string): Promise<Mailbox[]>;
  getMailbox(userId: string, name: string): Promise<Mailbox | null>;
  /** Creates missing parents too (RFC 9051 6.3.4). Throws MailboxExistsError. */
  createMailbox(userId: string, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** Deletes one mailbox and its messages (not its children). */
  deleteMailbox(userId: string, name: string): Promise<void>;
  /**
   * Renames a mailbox and every mailbox below it. Renaming INBOX moves its messages to
   * a new mailbox and leaves INBOX empty (RFC 9051 6.3.6).
   */
  renameMailbox(userId: string, oldName: string, newName: string): Promise<void>;
  subscribe(userId: string, name: string): Promise<void>;
  unsubscribe(userId: string, name: string): Promise<void>;
  listSubscriptions(userId: string): Promise<string[]>;
  mailboxCounts(userId: string, mailboxId: string): Promise<MailboxCounts>;

  // messages
  /** All messages of a mailbox, ascending by uid (the SELECT snapshot). */
  listMessages(userId: string, mailboxId: string): Promise<MailboxMessage[]>;
  /** UIDs of the messages that carry \Deleted now, ascending (EXPUNGE, CLOSE). */
  deletedUids(userId: string, mailboxId: string): Promise<number[]>;
  /** What changed since `sinceModseq` (and which messages are above `lastUid`). */
  mailboxDelta(userId: string, mailboxId: string, sinceModseq: number, lastUid: number): Promise<MailboxDelta>;
  /** Expunges logged above `sinceModseq`, only within `uidRanges` when given. */
  expungedSince(userId: string, mailboxId: string, sinceModseq: number, uidRanges: UidRanges | null): Promise<ExpungedSince>;
  /** One transaction: every message gets a UID or none does (MULTIAPPEND). */
  appendMessages(userId: string, mailboxId: string, messages: AppendInput[]): Promise<AppendResult>;
  storeFlags(
    userId: string,
    mailboxId: string,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince?: number,
  ): Promise<StoreFlagsResult>;
  /** Removes the given UIDs (those that exist), logging each expunge with a modseq. */
  expungeMessages(userId: string, mailboxId: string, uids: number[]): Promise<number[]>;
  copyMessages(userId: string, sourceId: string, uids: number[], destId: string): Promise<CopyResult>;
  /** Copy + expunge in one transaction (RFC 6851). */
  moveMessages(userId: string, sourceId: string, uids: number[], destId: string): Promise<CopyResult>;
  getContent(userId: string, contentId: string): Promise<MessageContent | null>;
  /**
   * For callers that need the top-level header only (ENVELOPE, BODY[HEADER...], header
   * SEARCH keys, SORT): the content, or, while a backend message's body is not fetched yet
   * but its header is (POP3 TOP), that header marked headerOnly, without waiting for the
   * body. Optional; without it callers use getContent.
   */
  getHeaderContent?(userId: string, contentId: string): Promise<HeaderContent | null>;
  /**
   * The stored INTERNALDATE of a content's message: a backend message listed before its
   * date was known (Gmail's first sync) gets it with its body, after the mailbox view
   * read the stand-in. Optional; read by FETCH INTERNALDATE of such a message.
   */
  contentDate?(userId: string, contentId: string): Promise<Date | null>;
  /**
   * \Recent (RFC 3501): claims every UID below `upToUid` not claimed by a session yet and
   * returns the first UID of the claimed range (the claim is [returned, upToUid)).
   */
  claimRecent(userId: string, mailboxId: string, upToUid: number): Promise<number>;
  /** How many messages are still unclaimed (STATUS RECENT). */
  countRecent(userId: string, mailboxId: string): Promise<number>;
  /**
   * Derived data the protocol layer computed from a content (parsed ENVELOPE/BODYSTRUCTURE
   * as JSON text), stored beside it so it is computed once. Missing ids are absent.
   */
  getContentSummaries(userId: string, contentIds: string[]): Promise<Map<string, string>>;
  saveContentSummary(userId: string, contentId: string, summary: string): Promise<void>;
}

/** Housekeeping across all users, run by the composition root, never by a protocol layer. */
export interface StoreMaintenance {
  /** Forgets expunges logged before `olderThan` (raising each mailbox's floor); returns how many. */
  trimExpungeLog(olderThan: Date): Promise<number>;
}

export type EventHandler = (event: StoreEvent) => void;

/** Store events fan out in-process and across processes (Postgres LISTEN/NOTIFY). */
export interface EventBus {
  publish(event: StoreEvent): Promise<void>;
  /** Handlers for one user's events; returns the unsubscribe function. */
  subscribe(userId: string, handler: EventHandler): () => void;
  close(): Promise<void>;
}
