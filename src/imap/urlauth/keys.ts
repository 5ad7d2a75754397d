// URLAUTH keys (RFC 4467 7): one secret per user and mailbox, kept encrypted by the store.
export interface UrlauthKeys {
  /** The mailbox's key, created on first use. */
  key(userId: string, mailboxId: string): Promise<Buffer>;
  /** RESETKEY: new keys for one mailbox, or for all of the user's when mailboxId is null. */
  reset(userId: string, mailboxId: string | null): Promise<void>;
  /** The id of the user with this login name (URL owners are named), or null. */
  userIdByName(name: string): Promise<string | null>;
}
