// The selected mailbox as one session sees it: which snapshot of the shared view its
// sequence numbers refer to, and what is its own (\Recent, expunges it may not announce
// yet, its own flag changes not yet in a snapshot, keywords announced, SEARCHRES). The
// messages themselves are shared by every session of the process that selected the mailbox
// (src/imap/mailbox-view.ts). Untagged responses come out only where RFC 9051 7.4.1 / 5.5
// allows them: catchUp() says what to announce, with or without expunges.
import type { Mailbox, MailboxMessage } from '../core/ports';
import { MailboxSnapshot, SharedMailbox, type MailboxWatcher } from './mailbox-view';

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

/** Keywords a session announced in FLAGS: shared between sessions that announced the same. */
interface Announced {
  readonly order: readonly string[];
  readonly lower: ReadonlySet<string>;
}

const NONE_ANNOUNCED: Announced = { order: [], lower: new Set() };
const FIRST_ANNOUNCED = new WeakMap<MailboxSnapshot, Announced>();

function announcedList(order: readonly string[]): Announced {
  return { order, lower: new Set(order.map((k) => k.toLowerCase())) };
}
const NO_UIDS: ReadonlySet<number> = new Set();
const EMPTY: readonly number[] = Object.freeze([]);

export class SelectedMailbox implements MailboxWatcher {
  /** The snapshot the client's sequence numbers refer to (shared, or this session's own). */
  private view: MailboxSnapshot;
  /** The shared snapshot version this view has taken in. */
  private syncedTo: number;
  /**
   * The highest UID this view ever held: a message above it is an arrival. (Not the last
   * UID: after this session's own EXPUNGE the shared snapshot may still hold the message.)
   */
  private topUid: number;
  /** Reported by the store but not yet announced (EXPUNGE not allowed at that moment). */
  private doomed: Set<number> | null = null;
  /** This session's own flag changes, until a snapshot has them. */
  private own: Map<number, MailboxMessage> | null = null;
  highestModseq: number;
  uidNext: number;
  /** \Recent (IMAP4rev1): the UIDs this session claimed as the first to see them. */
  private recentUids: Set<number> | null = null;
  /** UIDs [from, to) this session claimed at a refresh; marked once its view has them. */
  private claimFrom = 0;
  private claimTo = 0;
  /** IMAP4rev2 has no \Recent: sessions that enabled it never see the flag. */
  showRecent = true;
  /** Keywords the client was told about in FLAGS. */
  private announced: Announced = NONE_ANNOUNCED;
  /** SEARCHRES `$` (RFC 5182): UIDs saved by the last SEARCH ... RETURN (SAVE). */
  saved: readonly number[] = EMPTY;
  /**
   * While expunges are held back (doomed), the modseq the view had before them: a client
   * that saw higher MODSEQs meanwhile must be told this lower HIGHESTMODSEQ, or it could
   * resync from above the expunges and never learn of them (RFC 7162 3.2).
   */
  private heldSince: number | null = null;
  /** The session to tell when the shared view changes (set while selected). */
  owner: { snapshotChanged(sel: SelectedMailbox): void; readonly idling: boolean } | null = null;
  readonly shared: SharedMailbox;

  constructor(
    mailbox: Mailbox,
    /** The loaded shared view, or a fixed message list (tests). */
    source: SharedMailbox | readonly MailboxMessage[],
    readonly readOnly: boolean,
  ) {
    this.shared = source instanceof SharedMailbox ? source : SharedMailbox.fixed(mailbox, source);
    const latest = this.shared.latest;
    if (!latest) throw new Error('SelectedMailbox: the shared view is not loaded');
    this.view = latest;
    this.syncedTo = latest.version;
    this.topUid = latest.lastUid;
    this.highestModseq = latest.highestModseq;
    this.uidNext = latest.uidNext;
  }

  get mailbox(): Mailbox {
    return this.shared.mailbox;
  }

  get id(): string {
    return this.shared.id;
  }

  get count(): number {
    return this.view.count;
  }

  /** Ascending UIDs in sequence order. */
  allUids(): readonly number[] {
    const v = this.view;
    return v.uids.length === v.count ? v.uids : v.uids.slice(0, v.count);
  }

  /** Sequence numbers 1..n (for resolving sequence sets). */
  allSeqs(): number[] {
    const seqs = new Array<number>(this.view.count);
    for (let i = 0; i < seqs.length; i++) seqs[i] = i + 1;
    return seqs;
  }

  uidAt(seq: number): number | undefined {
    return seq >= 1 && seq <= this.view.count ? this.view.uids[seq - 1] : undefined;
  }

  seqOf(uid: number): number {
    return this.view.indexOf(uid) + 1;
  }

  message(uid: number): MailboxMessage | undefined {
    const mine = this.own?.get(uid);
    if (mine) return mine;
    const i = this.view.indexOf(uid);
    return i >= 0 ? this.view.messages[i] : undefined;
  }

  isExpungePending(uid: number): boolean {
    return this.doomed?.has(uid) ?? false;
  }

  /** UIDs that are \Recent in this session. */
  get recent(): ReadonlySet<number> {
    return this.recentUids ?? NO_UIDS;
  }

  /** Keywords in use, for the FLAGS response. */
  keywords(): string[] {
    const seen = new Map<string, string>();
    for (const k of this.view.keywords()) seen.set(k.toLowerCase(), k);
    if (this.own) {
      for (const m of this.own.values()) {
        for (const f of m.flags) if (!f.startsWith('\\') && !seen.has(f.toLowerCase())) seen.set(f.toLowerCase(), f);
      }
    }
    return [...seen.values()];
  }

  /**
   * Marks the messages in [firstUid, endUid) as \Recent in this session: only the range this
   * session claimed, never a newer message another session may claim (RFC 3501 2.3.2).
   */
  markRecent(firstUid: number, endUid: number): void {
    const v = this.view;
    for (let i = v.count - 1; i >= 0 && v.uids[i] >= firstUid; i--) {
      if (v.uids[i] < endUid) (this.recentUids ??= new Set()).add(v.uids[i]);
    }
  }

  /** Flags as FETCH shows them: with \Recent where this session holds it. */
  flagsOf(message: MailboxMessage): string[] {
    return this.showRecent && this.recentUids?.has(message.uid) ? ['\\Recent', ...message.flags] : message.flags;
  }

  /**
   * The keywords for a FLAGS response, now marked as announced. A keyword once announced
   * stays in the list for the session: a client may still hold it on a message whose
   * updated FETCH it has not read yet, and FLAGS must not drop it under that message.
   */
  announceKeywords(): string[] {
    if (this.announced === NONE_ANNOUNCED && !this.own) {
      // Sessions that SELECT the same snapshot announce the same list: share it.
      let first = FIRST_ANNOUNCED.get(this.view);
      if (!first) FIRST_ANNOUNCED.set(this.view, (first = announcedList(this.view.keywords())));
      this.announced = first;
      return [...first.order];
    }
    const current = this.keywords();
    const fresh = current.filter((k) => !this.announced.lower.has(k.toLowerCase()));
    if (fresh.length > 0) this.announced = announcedList([...this.announced.order, ...fresh]);
    return [...this.announced.order];
  }

  /** True when `flags` holds a keyword the client has not seen in a FLAGS response yet. */
  hasUnannounced(flags: readonly string[]): boolean {
    return flags.some((f) => !f.startsWith('\\') && !this.announced.lower.has(f.toLowerCase()));
  }

  /** Records this session's own flag change so a later catch-up does not echo it. */
  updateMessage(message: MailboxMessage): void {
    if (this.view.indexOf(message.uid) >= 0) (this.own ??= new Map()).set(message.uid, message);
  }

  /** Removes UIDs this session expunged itself; returns their sequence numbers, in the order to send. */
  removeOwn(uids: readonly number[]): number[] {
    const gone = new Set<number>();
    const seqs: number[] = [];
    for (const uid of [...uids].sort((a, b) => b - a)) {
      const i = this.view.indexOf(uid);
      if (i < 0 || gone.has(uid)) continue;
      // Each EXPUNGE renumbers what follows: from the highest down, earlier numbers hold.
      seqs.push(i + 1);
      gone.add(uid);
    }
    if (gone.size === 0) return seqs;
    this.view = this.without(gone, this.view);
    for (const uid of gone) {
      this.doomed?.delete(uid);
      this.recentUids?.delete(uid);
      this.own?.delete(uid);
    }
    if (this.doomed?.size === 0) this.doomed = null;
    if (!this.doomed) this.heldSince = null;
    return seqs;
  }

  /**
   * Takes in the shared view's latest snapshot. With `allowExpunge` false, expunged messages
   * stay visible (and are remembered) until a later call may announce them.
   */
  catchUp(allowExpunge: boolean): PendingUpdates {
    const updates: PendingUpdates = { exists: null, expunged: [], expungedUids: [], flagChanges: [], newFlags: [] };
    const latest = this.shared.latest!;
    const view = this.view;
    if (latest.version === this.syncedTo && !(allowExpunge && this.doomed)) return this.finish(updates, latest);

    // What changed since the snapshot this view took in last: the log, or a full comparison.
    let expunged: Iterable<number> = EMPTY;
    let changed: Iterable<number> = EMPTY;
    const lastChange = this.shared.lastChange;
    if (latest.version === this.syncedTo) {
      // Nothing new: only held expunges to announce.
    } else if (latest.version === this.syncedTo + 1 && lastChange?.version === latest.version) {
      ({ expunged, changed } = lastChange);
    } else {
      const records = this.shared.changesSince(this.syncedTo);
      if (records) {
        expunged = records.flatMap((r) => r.expunged);
        changed = new Set(records.flatMap((r) => r.changed));
      } else ({ expunged, changed } = compare(view, latest));
    }

    const heldBefore = this.doomed !== null;
    for (const uid of expunged) if (view.indexOf(uid) >= 0) (this.doomed ??= new Set()).add(uid);
    let next = view;
    if (allowExpunge && this.doomed) {
      updates.expungedUids = [...this.doomed].sort((a, b) => a - b);
      updates.expunged = this.removeOwn(updates.expungedUids);
      next = this.view;
    } else if (!heldBefore && this.doomed) {
      this.heldSince = this.highestModseq;
    }

    const changes: MailboxMessage[] = [];
    for (const uid of changed) {
      if (this.doomed?.has(uid)) continue;
      const i = next.indexOf(uid);
      const j = latest.indexOf(uid);
      if (i < 0 || j < 0) continue;
      const now = latest.messages[j];
      const mine = this.own?.get(uid);
      // This session's own change, newer than the snapshot: the client knows better already.
      if (mine && mine.modseq >= now.modseq) continue;
      const before = mine ?? next.messages[i];
      if (before !== now && !sameFlags(before.flags, now.flags)) changes.push(now);
    }
    let firstAdded = latest.count;
    while (firstAdded > 0 && latest.uids[firstAdded - 1] > this.topUid) firstAdded--;
    if (firstAdded < latest.count) this.topUid = latest.lastUid;
    for (let j = firstAdded; j < latest.count; j++) updates.newFlags.push(latest.messages[j].flags);

    this.view = this.doomed ? this.merged(next, latest, firstAdded) : this.converged(next, latest, firstAdded);
    this.syncedTo = latest.version;
    if (firstAdded < latest.count || updates.expunged.length > 0) updates.exists = firstAdded < latest.count ? this.view.count : null;
    for (const m of changes) updates.flagChanges.push([this.seqOf(m.uid), m]);
    return this.finish(updates, latest);
  }

  /** A claim of \Recent from the shared view: applied when this view has those UIDs. */
  claimedRecent(first: number, end: number): void {
    this.claimFrom = this.claimTo > 0 ? Math.min(this.claimFrom, first) : first;
    this.claimTo = Math.max(this.claimTo, end);
  }

  snapshotChanged(): void {
    this.owner?.snapshotChanged(this);
  }

  get pushesNow(): boolean {
    return this.owner?.idling ?? false;
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
    return this.view.lastUid;
  }

  /** True when this view has taken in the shared view's latest snapshot. */
  get current(): boolean {
    return this.syncedTo === this.shared.latest?.version;
  }

  private finish(updates: PendingUpdates, latest: MailboxSnapshot): PendingUpdates {
    this.highestModseq = Math.max(this.highestModseq, latest.highestModseq);
    this.uidNext = Math.max(this.uidNext, latest.uidNext);
    if (this.own) {
      // Kept only while no snapshot has caught up with the change.
      for (const [uid, m] of this.own) {
        const j = latest.indexOf(uid);
        if (j < 0 || latest.messages[j].modseq >= m.modseq) this.own.delete(uid);
      }
      if (this.own.size === 0) this.own = null;
    }
    if (this.claimTo > 0 && !this.readOnly) {
      this.markRecent(this.claimFrom, this.claimTo);
      this.claimFrom = this.claimTo = 0;
    }
    return updates;
  }

  /**
   * The view after a catch-up with nothing held back: the shared snapshot itself when this
   * view holds the same messages (the usual case), else a view of its own.
   */
  private converged(next: MailboxSnapshot, latest: MailboxSnapshot, firstAdded: number): MailboxSnapshot {
    // `next` holds no UID that `latest` lacks, so equal counts mean equal UIDs.
    if (next.count === firstAdded) return latest;
    return this.merged(next, latest, firstAdded);
  }

  /** This view's messages (with the latest message objects) plus the arrivals in `latest`. */
  private merged(next: MailboxSnapshot, latest: MailboxSnapshot, firstAdded: number): MailboxSnapshot {
    const uids = next.uids.slice(0, next.count);
    const messages = next.messages.slice(0, next.count);
    for (let i = 0; i < uids.length; i++) {
      const j = latest.indexOf(uids[i]);
      if (j >= 0) messages[i] = latest.messages[j];
    }
    for (let j = firstAdded; j < latest.count; j++) {
      uids.push(latest.uids[j]);
      messages.push(latest.messages[j]);
    }
    return new MailboxSnapshot(uids, messages, uids.length, latest.version, latest.highestModseq, latest.uidNext);
  }

  private without(gone: ReadonlySet<number>, view: MailboxSnapshot): MailboxSnapshot {
    const uids: number[] = [];
    const messages: MailboxMessage[] = [];
    for (let i = 0; i < view.count; i++) {
      if (gone.has(view.uids[i])) continue;
      uids.push(view.uids[i]);
      messages.push(view.messages[i]);
    }
    return new MailboxSnapshot(uids, messages, uids.length, view.version, view.highestModseq, view.uidNext);
  }
}

/** Expunged and changed UIDs between two snapshots, by walking both (a view far behind). */
function compare(view: MailboxSnapshot, latest: MailboxSnapshot): { expunged: number[]; changed: number[] } {
  const expunged: number[] = [];
  const changed: number[] = [];
  let j = 0;
  for (let i = 0; i < view.count; i++) {
    const uid = view.uids[i];
    while (j < latest.count && latest.uids[j] < uid) j++;
    if (j < latest.count && latest.uids[j] === uid) {
      if (latest.messages[j] !== view.messages[i]) changed.push(uid);
    } else expunged.push(uid);
  }
  return { expunged, changed };
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}
