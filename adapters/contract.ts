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
  /** changes() takes and returns a cursor; false: every call returns a full snapshot. */
  changeCursors: boolean;
  /** A message can be deleted at the backend (POP3: only when the account asks for it). */
  delete: boolean;
}

/** A backend folder or label with an id that stays the same across renames. */
export interface BackendFolder {
  id: string;
  name: string;
  specialUse?: string | null;
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

/** Typed changes for backends that have change cursors (Graph delta, Gmail history). */
export type BackendChange =
  | { kind: 'created'; folderId: string; message: ListedMessage }
  | { kind: 'flags'; folderId: string; id: string; flags: string[] }
  | { kind: 'moved'; fromFolderId: string; toFolderId: string; id: string }
  | { kind: 'deleted'; folderId: string; id: string };

/**
 * What changes() returns: a delta since the cursor, or (backends without cursors, or a
 * cursor the backend no longer accepts) the full content of the folder, which the sync
 * engine reconciles by backend id.
 */
export type ChangeSet =
  | { kind: 'delta'; changes: BackendChange[]; cursor: string }
  | { kind: 'snapshot'; folderId: string; messages: ListedMessage[]; cursor: string | null };

/** Client changes the sync engine replays to the backend (the write-back queue). */
export type WriteBackOp =
  | { kind: 'expunge'; folderId: string; id: string }
  | { kind: 'flags'; folderId: string; id: string; add: string[]; remove: string[] }
  | { kind: 'move'; fromFolderId: string; toFolderId: string; id: string }
  | { kind: 'append'; folderId: string; raw: Buffer; flags: string[] };

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
  changes(folderId: string, cursor: string | null): Promise<ChangeSet>;
  /** Raw MIME, byte-exact, one message at a time, in the order given. */
  fetchRaw(folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer) => Promise<void>): Promise<void>;
  /** Applies one client change; applying it twice has the effect of applying it once. */
  apply(op: WriteBackOp): Promise<void>;
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
}

/** Builds an adapter from an account's settings and decrypted credentials. */
export type AdapterFactory = (account: AdapterAccount) => BackendAdapter;

export interface AdapterAccount {
  id: string;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
}
