// What the submission server needs from the rest of memgate. A leaf module: it imports
// only src/core, so backend adapters (Graph, Gmail, a POP3 account's relay) can implement
// `Sender` and the store can implement `Outbox` and `SendingAccounts` without cycles.
import { MemgateError } from '../core/errors';
import type { AccountKind } from '../core/ports';

/** One RCPT TO with its DSN parameters (RFC 3461). */
export interface Recipient {
  address: string;
  /** NOTIFY values, upper case; absent = the default (FAILURE). */
  notify?: string[];
  orcpt?: string;
}

export interface Envelope {
  mailFrom: string;
  recipients: Recipient[];
  /** RET and ENVID of MAIL FROM (RFC 3461). */
  dsnRet?: 'FULL' | 'HDRS';
  dsnEnvid?: string;
}

/** What a backend does around sending, so the outbox adapts without naming backends. */
export interface SenderCapabilities {
  /** The backend files its own copy in Sent (Gmail, Graph): memgate must not add one. */
  savesSentCopy: boolean;
  /**
   * The backend takes the message with its Bcc fields and removes them from what it
   * delivers itself (keeping them in its Sent copy); otherwise memgate removes them.
   */
  removesBcc?: boolean;
  /**
   * The backend takes the recipients from the message's To, Cc and Bcc fields, not from an
   * envelope (Graph sendMail, Gmail messages.send). Envelope recipients missing from those
   * fields go in as Bcc; a message whose header recipients are not all in the envelope is
   * refused at submission (the backend would deliver to them too).
   */
  recipientsFromHeaders?: boolean;
}

/** About this delivery attempt. */
export interface SendAttempt {
  /**
   * Attempts made before this one. After one, the message may already have left (the answer
   * was lost, or the process died after sending): a backend that can look (its Sent copy by
   * Message-ID) should, instead of sending it a second time.
   */
  earlier: number;
  /** The message's Message-ID without angle brackets, to look for such a copy (also before a retry within this attempt). */
  messageId?: string;
}

export interface SendResult {
  /** The next hop's reply to the message (e.g. `250 2.0.0 queued as 4XYZ`), kept in the outbox. */
  reply?: string;
  accepted: string[];
  /** Recipients the next hop refused for good, with its reply. */
  rejected: Array<{ address: string; reply: string }>;
  /** Recipients refused for now (4xx): tried again later. */
  deferred: Array<{ address: string; reply: string }>;
  /**
   * The next hop took the RFC 3461 parameters (NOTIFY, RET, ENVID) and reports success and
   * delay itself; otherwise (Graph, Gmail) memgate reports NOTIFY=SUCCESS as "relayed".
   */
  dsnPassed?: boolean;
}

/** Sends one message on behalf of an account (SMTP relay, Graph sendMail, Gmail send). */
export interface Sender {
  readonly capabilities: SenderCapabilities;
  send(envelope: Envelope, raw: Buffer, attempt?: SendAttempt): Promise<SendResult>;
  close?(): void;
}

/** An account as submission sees it: which addresses it may send as, and its settings. */
export interface SendingAccount {
  id: string;
  userId: string;
  kind: AccountKind;
  /** Addresses (lower case); an entry `@example.org` allows the whole domain. */
  addresses: string[];
  settings: Record<string, unknown>;
  /**
   * Secrets sealed with the master key (src/sync/credentials), opened only by the Sender
   * that needs them: the backend login, and the SMTP relay's own login.
   */
  sealed?: { backend: Buffer | null; relay: Buffer | null };
}

/** Turns an account into a Sender; a factory returns null for accounts it does not serve. */
export interface SenderFactory {
  senderFor(account: SendingAccount): Sender | null;
  /** Ends what the factory keeps between messages (pooled connections, tokens). */
  close?(): void;
}

export interface SendingAccounts {
  listSendingAccounts(userId: string): Promise<SendingAccount[]>;
  getSendingAccount(userId: string, accountId: string): Promise<SendingAccount | null>;
  /** The backend refused the account's credentials while sending: shown as its state. */
  noteNeedsCredentials?(accountId: string, reason: string): Promise<void>;
}

/** A delivery failure, temporary (retry later) or permanent (DSN to the sender). */
export class DeliveryError extends MemgateError {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The remote reply, e.g. `550 5.1.1 no such user`, for the DSN's Diagnostic-Code. */
    readonly remoteReply?: string,
    cause?: unknown,
    readonly details: {
      /** The next hop asked not to be tried again before this (HTTP Retry-After). */
      retryAfterSeconds?: number;
      /** The backend refused the account's credentials: the account needs new ones. */
      needsCredentials?: boolean;
    } = {},
  ) {
    super(message, {
      smtpReply: permanent ? 554 : 451,
      smtpEnhanced: permanent ? '5.0.0' : '4.4.1',
      cause,
    });
  }
}

/** A draft in the user's mailboxes that a BURL submission came from (RFC 5550 keywords). */
export interface DraftRef {
  mailboxId: string;
  uid: number;
}

export interface NewOutboxEntry {
  userId: string;
  accountId: string;
  envelope: Envelope;
  raw: Buffer;
  giveUpAt: Date;
  draft?: DraftRef;
}

export interface OutboxEntry extends NewOutboxEntry {
  id: string;
  attempts: number;
  queuedAt: Date;
  /** A "delayed" DSN (NOTIFY=DELAY) was filed already. */
  delayReported: boolean;
}

/** What one delivery attempt came to; the outbox records it in one transaction. */
export type DeliveryOutcome =
  | {
      kind: 'sent';
      /** The next hop's reply to the message. */
      reply?: string;
      /** File this copy in the user's Sent mailbox (null when the backend keeps one). */
      sentCopy: Buffer | null;
      /** A DSN for the recipients refused for good, into the sender's INBOX. */
      report: Buffer | null;
      /** Recipients refused for now: the message stays queued for them alone. */
      remaining?: { recipients: Recipient[]; at: Date; error: string };
    }
  /** `report`: a "delayed" DSN (NOTIFY=DELAY) into the sender's INBOX, filed once. */
  | { kind: 'retry'; error: string; at: Date; report?: Buffer | null }
  | { kind: 'failed'; error: string; report: Buffer | null };

export interface Outbox {
  /** Commits the message (and marks a BURL draft $SubmitPending); resolves with its id. */
  enqueue(entry: NewOutboxEntry): Promise<string>;
  /**
   * Claims one due message with a lease (renewed while `deliver` runs; a second process
   * skips it; a crashed one stops renewing and the message is due again when the lease
   * runs out), then records the outcome in one short transaction. Resolves false when
   * nothing was due.
   */
  deliverNext(deliver: (entry: OutboxEntry) => Promise<DeliveryOutcome>): Promise<boolean>;
}
