// The selected mailbox as one session sees it: the sequence-number order, cached flags,
// and the updates it owes the client. The store is the truth; this view catches up from
// it by MODSEQ (so a lost or repeated event never corrupts it) and hands out untagged
// responses only where RFC 9051 7.4.1 / 5.5 allows them.
import type { Mailbox, MailboxDelta, MailboxMessage } from '../core/ports';

export interface PendingUpdates {
  exists: number | null;
  /** Sequence numbers to send EXPUNGE for, in sending order. */
  expunged: number[];
  /** The same messages' UIDs, ascending (QRESYNC sessions get VANISHED instead). */
  expungedUids: number[];
  /** Messages whose flags changed: [seq, message]. */
  flagChanges: Array<[number, MailboxMessage]>;
  /** Flags of newly arrived messages (their keywords may need a FLAGS response). */
  newFlags: string[][];
}

export class SelectedMailbox {
  /** uid -> message, and the uid order (index + 1 = sequence number). */
  private readonly byUid = new Map<number, MailboxMessage>();
  private uids: number[] = [];
  /** Reported by the store but not yet announced (EXPUNGE not allowed at that moment). */
  private readonly doomed = new Set<number>();
  highestModseq: number;
  uidNext: number;
  /** \Recent (IMAP4rev1): the UIDs this session claimed as the first to see them. */
  readonly recent = new Set<number>();
  /** IMAP4rev2 has no \Recent: sessions that enabled it never see the flag. */
  showRecent = true;
  /** Keywords the client was told about in FLAGS (lower case). */
  private readonly announced = new Set<string>();
  private readonly announcedOrder: string[] = [];
  /** SEARCHRES `$` (RFC 5182): UIDs saved by the last SEARCH ... RETURN (SAVE). */
  saved: number[] = [];
  /**
   * While expunges are held back (doomed), the modseq the view had before them: a client
   * that saw higher MODSEQs meanwhile must be told this lower HIGHESTMODSEQ, or it could
   * resync from above the expunges and never learn of them (RFC 7162 3.2).
   */
  private heldSince: number | null = null;

  constructor(
    readonly mailbox: Mailbox,
    messages: MailboxMessage[],
    readonly readOnly: boolean,
  ) {
    let highest = mailbox.highestModseq;
    for (const m of messages) {
      this.byUid.set(m.uid, m);
      this.uids.push(m.uid);
      if (m.modseq > highest) highest = m.modseq;
    }
    // The message list may be a later snapshot than the mailbox row: its modseqs are news
    // the view already has (anything committed after it has a higher modseq still).
    this.highestModseq = highest;
    this.uidNext = Math.max(mailbox.uidNext, this.lastUid() + 1);
  }

  get id(): string {
    return this.mailbox.id;
  }

  get count(): number {
    return this.uids.length;
  }

  /** Ascending UIDs in sequence order. */
  allUids(): readonly number[] {
    return this.uids;
  }

  /** Sequence numbers 1..n (for resolving sequence sets). */
  allSeqs(): number[] {
    return this.uids.map((_, i) => i + 1);
  }

  uidAt(seq: number): number | undefined {
    return this.uids[seq - 1];
  }

  seqOf(uid: number): number {
    return binarySearch(this.uids, uid) + 1;
  }

  message(uid: number): MailboxMessage | undefined {
    return this.byUid.get(uid);
  }

  isExpungePending(uid: number): boolean {
    return this.doomed.has(uid);
  }

  /** Keywords in use, for the FLAGS response. */
  keywords(): string[] {
    const seen = new Map<string, string>();
    for (const m of this.byUid.values()) {
      for (const f of m.flags) if (!f.startsWith('\\') && !seen.has(f.toLowerCase())) seen.set(f.toLowerCase(), f);
    }
    return [...seen.values()];
  }

  /**
   * Marks the messages in [firstUid, endUid) as \Recent in this session: only the range this
   * session claimed, never a newer message another session may claim (RFC 3501 2.3.2).
   */
  markRecent(firstUid: number, endUid: number): void {
    for (let i = this.uids.length - 1; i >= 0 && this.uids[i] >= firstUid; i--) {
      if (this.uids[i] < endUid) this.recent.add(this.uids[i]);
    }
  }

  /** Flags as FETCH shows them: with \Recent where this session holds it. */
  flagsOf(message: MailboxMessage): string[] {
    return this.showRecent && this.recent.has(message.uid) ? ['\\Recent', ...message.flags] : message.flags;
  }

  /**
   * The keywords for a FLAGS response, now marked as announced. A keyword once announced
   * stays in the list for the session: a client may still hold it on a message whose
   * updated FETCH it has not read yet, and FLAGS must not drop it under that message.
   */
  announceKeywords(): string[] {
    for (const k of this.keywords()) {
      if (!this.announced.has(k.toLowerCase())) {
        this.announced.add(k.toLowerCase());
        this.announcedOrder.push(k);
      }
    }
    return [...this.announcedOrder];
  }

  /** True when `flags` holds a keyword the client has not seen in a FLAGS response yet. */
  hasUnannounced(flags: readonly string[]): boolean {
    return flags.some((f) => !f.startsWith('\\') && !this.announced.has(f.toLowerCase()));
  }

  /** Records this session's own flag change so a later catch-up does not echo it. */
  updateMessage(message: MailboxMessage): void {
    if (this.byUid.has(message.uid)) this.byUid.set(message.uid, message);
  }

  /** Removes UIDs this session expunged itself; returns their sequence numbers, in the order to send. */
  removeOwn(uids: number[]): number[] {
    const seqs: number[] = [];
    for (const uid of [...uids].sort((a, b) => b - a)) {
      const i = binarySearch(this.uids, uid);
      if (i < 0) continue;
      seqs.push(i + 1);
      this.uids.splice(i, 1);
      this.byUid.delete(uid);
      this.doomed.delete(uid);
      this.recent.delete(uid);
    }
    if (this.doomed.size === 0) this.heldSince = null;
    return seqs;
  }

  /**
   * Folds a store delta into the view. With `allowExpunge` false, expunged messages stay
   * visible (and are remembered) until a later call may announce them.
   */
  apply(delta: MailboxDelta, allowExpunge: boolean): PendingUpdates {
    const updates: PendingUpdates = { exists: null, expunged: [], expungedUids: [], flagChanges: [], newFlags: [] };
    const heldBefore = this.doomed.size > 0;
    for (const uid of delta.expunged) if (this.byUid.has(uid)) this.doomed.add(uid);
    if (allowExpunge && this.doomed.size > 0) {
      updates.expungedUids = [...this.doomed].sort((a, b) => a - b);
      updates.expunged = this.removeOwn(updates.expungedUids);
    } else if (!heldBefore && this.doomed.size > 0) {
      this.heldSince = this.highestModseq;
    }
    for (const m of delta.changed) {
      const known = this.byUid.get(m.uid);
      if (!known || this.doomed.has(m.uid)) continue;
      const differs = !sameFlags(known.flags, m.flags);
      this.byUid.set(m.uid, m);
      if (differs) updates.flagChanges.push([0, m]);
    }
    let added = false;
    for (const m of delta.added) {
      if (this.byUid.has(m.uid) || (this.uids.length > 0 && m.uid < this.uids[this.uids.length - 1])) continue;
      this.byUid.set(m.uid, m);
      this.uids.push(m.uid);
      updates.newFlags.push(m.flags);
      added = true;
    }
    if (added || updates.expunged.length > 0) updates.exists = added ? this.uids.length : null;
    for (const change of updates.flagChanges) change[0] = this.seqOf(change[1].uid);
    this.highestModseq = Math.max(this.highestModseq, delta.highestModseq);
    this.uidNext = Math.max(this.uidNext, delta.uidNext);
    return updates;
  }

  /** HIGHESTMODSEQ as the client may be told it: below any expunge not yet announced. */
  reportableModseq(): number {
    return this.heldSince ?? this.highestModseq;
  }

  /** True while expunges wait for a moment when they may be announced. */
  get holdsExpunges(): boolean {
    return this.heldSince !== null;
  }

  /** The UID below which this view has seen everything. */
  lastUid(): number {
    return this.uids.length > 0 ? this.uids[this.uids.length - 1] : 0;
  }
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}

export function binarySearch(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return mid;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
