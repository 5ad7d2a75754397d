// The adapter contract (design "The adapter contract", the I2 interface): one interface for
// every backend. This is a leaf module: it imports nothing, so neither the store nor the
// IMAP facade can reach an adapter through it, and adapters cannot reach the store.

/** What a backend can do; the sync engine adapts to these instead of to backend names. */
export interface BackendCapabilities {
  /** Real folders or labels at the backend; false: one inbox only (POP3). */
  folders: boolean;
  /** Labels (a message may sit in several folders at once, Gmail). */
  labels: boolean;
  /** System flags (\Seen, \Flagged...) are kept by the backend. */
  serverFlags: boolean;
  /** Arbitrary keywords are kept by the backend. */
  keywords: boolean;
  move: boolean;
  append: boolean;
  send: boolean;
  push: boolean;
  /**
   * What one push subscription covers: the whole account (one subscription, Gmail watch)
   * or one folder (one per mirrored folder, Graph mailFolders('{id}')/messages, so each
   * notification names the folder to sync). Default 'account'.
   */
  pushScope?: 'account' | 'folder';
  /** changes() takes and returns a cursor; false: every call returns a full snapshot. */
  changeCursors: boolean;
  /** A message can be deleted at the backend (POP3: only when the account asks for it). */
  delete: boolean;
  /**
   * Write-backs take effect only when the session is closed (POP3 DELE + QUIT), so the
   * queue entries are completed after close(); otherwise each is completed as it succeeds.
   * Default false.
   */
  commitOnClose?: boolean;
  /**
   * The backend's folders are mirrored both ways: backend folders become mailboxes, and
   * mailboxes the client creates, renames or deletes under the account are changed at the
   * backend; messages the client copies, moves or appends into them are written back.
   * Needs `folders`. Default false.
   */
  mirrorFolders?: boolean;
}

/**
 * Which flags the backend keeps (and so reports authoritatively): the sync engine takes
 * these from the backend's reports and keeps every other flag in the shadow store only
 * (POP3: none; Graph: \Seen, \Flagged and categories; \Answered stays in the gateway).
 */
export type FlagOwnership = (flag: string) => boolean;

/** A backend folder or label with an id that stays the same across renames. */
export interface BackendFolder {
  id: string;
  /** The folder's own name (one level; the engine builds the path from parentId). */
  name: string;
  /** The parent folder's id; null or absent for a top-level folder. */
  parentId?: string | null;
  /** RFC 6154 attribute (\Sent, \Drafts, \Trash, \Junk, \Archive, \All...). */
  specialUse?: string | null;
  /** The account's inbox: shown as INBOX (or <label>/INBOX). */
  inbox?: boolean;
  /**
   * A level of the backend's hierarchy that is no folder itself (Gmail: "a" of a label
   * "a/b" when there is no label "a"): a \Noselect mailbox that holds only others.
   */
  noSelect?: boolean;
}

/** One message as a listing reports it. `id` is stable for as long as the backend keeps it. */
export interface ListedMessage {
  id: string;
  /** Octet count the backend announces (RFC822.SIZE when the body is not fetched yet). */
  size: number;
  flags?: string[];
  internalDate?: Date;
  /** Hex SHA-256 of the raw message, when the adapter had to fetch it anyway. */
  sha256?: string;
}

/**
 * Typed changes for backends that have change cursors (Graph delta, Gmail history). Ids are
 * per folder: a backend with labels reports a message once per label (folder) it carries,
 * and a message in two folders is two shadow messages. The engine applies them
 * idempotently: `created` for a message it already shows is a flag report; `deleted` for one
 * it does not know is nothing; without `labels`, `created` in one folder for a message shown
 * in another is a move (the content and its cached body stay).
 */
export type BackendChange =
  | { kind: 'created'; folderId: string; message: ListedMessage }
  /** `flags`: what the backend holds now (only flags it owns are taken from it). */
  | { kind: 'flags'; folderId: string; id: string; flags: string[] }
  /** `toId`: the id in the destination when the backend gives a new one; `flags` if known. */
  | { kind: 'moved'; fromFolderId: string; toFolderId: string; id: string; toId?: string; flags?: string[] }
  | { kind: 'deleted'; folderId: string; id: string };

/**
 * What changes() returns: a delta since the cursor, or (backends without cursors, or a
 * cursor the backend no longer accepts) the full content of the folder, which the sync
 * engine reconciles by backend id.
 */
export type ChangeSet =
  /**
   * `more`: the backend has further pages; the engine applies this one, saves the cursor
   * (which then points at the next page) and asks again at once.
   */
  | { kind: 'delta'; changes: BackendChange[]; cursor: string; more?: boolean }
  /**
   * A full listing: also what a cursor backend returns after losing its cursor (Graph 410,
   * an expired Gmail history id). Known ids keep their UIDs (invariant 1), unknown ones are
   * added, missing ones expunged; `flags`, when given, update the flags the backend owns.
   * Of an id already shown only `flags` is used: its size and date may be left at 0.
   */
  | { kind: 'snapshot'; folderId: string; messages: ListedMessage[]; cursor: string | null; reason?: string };

/**
 * Client changes the sync engine replays to the backend (the write-back queue), in the
 * order the client made them. Flags are only those the adapter owns (FlagOwnership).
 */
export type WriteBackOp =
  | { kind: 'expunge'; folderId: string; id: string }
  /** `flags`: the message's whole set of owned flags after the change (for replace-style APIs). */
  | { kind: 'flags'; folderId: string; id: string; add: string[]; remove: string[]; flags?: string[] }
  | { kind: 'move'; fromFolderId: string; toFolderId: string; id: string }
  | { kind: 'copy'; fromFolderId: string; toFolderId: string; id: string; flags?: string[] }
  /** `retry`: an earlier attempt may have reached the backend (avoid a second copy). */
  | { kind: 'append'; folderId: string; raw: Buffer; flags: string[]; internalDate?: Date; retry?: boolean }
  /** `parentId` null: top level. */
  | { kind: 'createFolder'; name: string; parentId: string | null }
  | { kind: 'renameFolder'; folderId: string; name: string; parentId: string | null }
  | { kind: 'deleteFolder'; folderId: string };

/** What applying an op produced at the backend (new ids the engine binds). */
export interface WriteBackResult {
  /** move, copy, append: the message's id in the destination folder. */
  id?: string;
  /** createFolder: the new folder's id. */
  folderId?: string;
}

/** Why a backend operation failed; the sync engine maps these to account states. */
export type AdapterErrorKind =
  /** Connection refused, dropped, stalled, server said try later. Retried with backoff. */
  | 'unavailable'
  /** Credentials rejected: the account needs new credentials (still retried, slowly). */
  | 'auth'
  /** The maildrop is locked by another session (RFC 2449 [IN-USE]). */
  | 'in-use'
  /** The backend cannot serve this account at all (a POP3 server without UIDL). */
  | 'unsupported'
  /** The backend answered something that makes no sense. */
  | 'protocol'
  /** The message is not at the backend (any more). */
  | 'gone';

export class AdapterError extends Error {
  constructor(
    readonly kind: AdapterErrorKind,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdapterError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  /** Do not try again before this (RFC 2449 LOGIN-DELAY, HTTP Retry-After). */
  readonly retryAfterSeconds?: number;
}

/** Counters an adapter keeps about its own traffic (benchmarks, status). */
export interface TrafficStats {
  connections: number;
  commands: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * One unit of work against the backend. For POP3 it is one connection: the maildrop is a
 * snapshot taken at login, and deletions take effect only at close() (QUIT).
 */
export interface BackendSession {
  listFolders(): Promise<BackendFolder[]>;
  /**
   * `knownIds`: the backend ids the gateway already shows in the folder, for an adapter
   * that would otherwise fetch what a snapshot does not need for them (called only then).
   */
  changes(folderId: string, cursor: string | null, knownIds?: () => Promise<ReadonlySet<string>>): Promise<ChangeSet>;
  /**
   * Optional: changes() is about to be asked for each of these folders (with these cursors);
   * the adapter may fetch their first pages in fewer round trips (Graph: one $batch per 20
   * folders) and answer those calls from what it got.
   */
  prefetchChanges?(folders: ReadonlyArray<{ folderId: string; cursor: string | null }>): Promise<void>;
  /**
   * Raw MIME, byte-exact, one message at a time, in the order given. `info.internalDate`:
   * the backend's date of a message it listed without one (Gmail's raw format carries it).
   */
  fetchRaw(folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer, info?: { internalDate?: Date }) => Promise<void>): Promise<void>;
  /**
   * Header sections only (POP3 TOP n 0), where the backend has a cheap way to them: each
   * byte-for-byte the start of what fetchRaw will deliver for that id, through the blank
   * line, so ENVELOPE and header questions are answered before the body is fetched. An
   * adapter that cannot promise that exactness throws 'unsupported' (the engine then
   * fetches bodies only). Absent: no header-first fetching.
   */
  fetchHeaders?(folderId: string, ids: readonly string[], onHeader: (id: string, header: Buffer) => Promise<void>): Promise<void>;
  /** Applies one client change; applying it twice has the effect of applying it once. */
  apply(op: WriteBackOp): Promise<WriteBackResult | void>;
  /**
   * Optional: the same flag change on many messages in one backend call (Gmail
   * batchModify). The engine hands consecutive queued flag changes with the same `add` and
   * `remove` (owned flags only) here instead of one apply() each. Idempotent like apply.
   */
  applyFlags?(targets: ReadonlyArray<{ folderId: string; id: string }>, add: readonly string[], remove: readonly string[]): Promise<void>;
  /** Commits and ends the session (POP3 QUIT). */
  close(): Promise<void>;
  /** Ends the session without committing anything (connection dropped on purpose). */
  abort(): void;
}

export interface BackendAdapter {
  readonly kind: string;
  readonly capabilities: BackendCapabilities;
  /** Opens a session: connects and authenticates. Rejects with an AdapterError. */
  connect(): Promise<BackendSession>;
  /** Checks that the account can be served (used on `account add`). */
  probe(): Promise<void>;
  readonly stats: TrafficStats;
  /** Flags the backend keeps; absent: none (everything lives in the shadow store). */
  readonly ownsFlag?: FlagOwnership;
  /**
   * Push (capabilities.push): asks the backend to notify `url` about changes. Returns what
   * must be kept to renew or verify the subscription (opaque to the engine).
   */
  subscribe?(request: PushRequest): Promise<PushSubscription>;
  /** Renews (or re-creates when lost) a subscription before it expires. */
  renew?(subscription: PushSubscription, request: PushRequest): Promise<PushSubscription>;
  /** Parses one push delivery: the folders to sync now, or null when it is not genuine. */
  parsePush?(body: Buffer, subscription: PushSubscription): PushTrigger | null;
  /** Ends a subscription at the backend (a folder that went away); a lost one is no error. */
  unsubscribe?(subscription: PushSubscription): Promise<void>;
  /** Releases held resources (timers, connection pools). */
  dispose?(): void;
  /**
   * The least time the backend allows between two sessions (POP3 LOGIN-DELAY, RFC 2449
   * 6.5), as the last session announced it: the engine polls no more often. Absent or 0:
   * no floor.
   */
  readonly minSessionIntervalSeconds?: number;
  /** Milliseconds until the backend would accept a new session (0: now); see above. */
  nextSessionInMs?(): number;
}

export interface PushRequest {
  /** Where the backend posts notifications (memgate's HTTP listener). */
  url: string;
  /** A secret the backend echoes in each notification (Graph clientState). */
  secret: string;
  /** The folder to watch (capabilities.pushScope 'folder'); absent: the whole account. */
  folderId?: string;
}

export interface PushSubscription {
  id: string;
  expiresAt: Date;
  secret: string;
  /** The folder it watches (pushScope 'folder'). */
  folderId?: string;
}

/** What a push delivery asks for: sync these folders now (all folders when empty). */
export interface PushTrigger {
  folderIds: string[];
  /**
   * What the subscription itself needs (Graph lifecycle notifications): 'renew' at once
   * (reauthorizationRequired), or 'recreate' (subscriptionRemoved: it is gone).
   */
  subscription?: 'renew' | 'recreate';
}

/** Builds an adapter from an account's settings and decrypted credentials. */
export type AdapterFactory = (account: AdapterAccount) => BackendAdapter;

export interface AdapterAccount {
  id: string;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  /**
   * Saves credentials that changed (a rotated refresh token): the engine stores them
   * encrypted before resolving. Absent where nothing can be saved (a probe before add).
   */
  saveCredentials?: (credentials: Record<string, string>) => Promise<void>;
}
