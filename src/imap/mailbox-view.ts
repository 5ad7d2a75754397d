// One view of a mailbox per process, shared by every session that has it selected: the
// UIDs in order and the messages, read from the store once per change instead of once
// per session, and announced to the watching sessions in one pass. Each session keeps
// only what is its own (src/imap/selected.ts): which snapshot its sequence numbers refer
// to, \Recent, expunges it may not announce yet.
//
// Snapshots are immutable where a session can see them: a change makes a new snapshot;
// arrivals are appended in place past the end of the arrays (older snapshots know their
// own count and never look there), flag changes copy the message array, expunges copy both.
// The store stays the truth: a refresh reads what changed since the snapshot's MODSEQ, so
// a lost or repeated event costs latency, never correctness.
import type { EventBus, Mailbox, MailboxDelta, MailboxMessage, MailStore } from '../core/ports';
import type { StoreEvent } from '../core/events';
import type { Logger } from './context';

export class MailboxSnapshot {
  private keywordCache: string[] | null = null;

  constructor(
    /** Ascending UIDs; only the first `count` belong to this snapshot. */
    readonly uids: number[],
    /** The message of each UID, same positions. */
    readonly messages: MailboxMessage[],
    readonly count: number,
    /** Counts the snapshots of one shared view (1, 2, ...). */
    readonly version: number,
    readonly highestModseq: number,
    readonly uidNext: number,
  ) {}

  /** Position of `uid`, or -1. */
  indexOf(uid: number): number {
    return binaryIndex(this.uids, this.count, uid);
  }

  get lastUid(): number {
    return this.count > 0 ? this.uids[this.count - 1] : 0;
  }

  /** Keywords in use (first spelling seen), computed once per snapshot. */
  keywords(): readonly string[] {
    if (this.keywordCache) return this.keywordCache;
    const seen = new Map<string, string>();
    for (let i = 0; i < this.count; i++) {
      for (const f of this.messages[i].flags) {
        if (f.startsWith('\\')) continue;
        const k = f.toLowerCase();
        if (!seen.has(k)) seen.set(k, f);
      }
    }
    this.keywordCache = [...seen.values()];
    return this.keywordCache;
  }
}

/** What one refresh changed, for sessions one or a few snapshots behind. */
export interface ChangeRecord {
  /** The snapshot this change led to. */
  version: number;
  /** UIDs that left the mailbox, ascending. */
  expunged: readonly number[];
  /** UIDs (present before and after) whose message changed, ascending. */
  changed: readonly number[];
}

/** A session that has the mailbox selected. */
export interface MailboxWatcher {
  /** Only writable (SELECTed) views take \Recent claims. */
  readonly readOnly: boolean;
  /** True when the session can announce at once (IDLE); such a watcher gets \Recent first. */
  readonly pushesNow: boolean;
  /** A new snapshot is out. */
  snapshotChanged(): void;
  /** This watcher is the first in the process to learn of UIDs [first, end): \Recent is its. */
  claimedRecent(first: number, end: number): void;
}

/** How many change records a shared view keeps; a session further behind compares whole snapshots. */
const LOG_SIZE = 64;

export class SharedMailbox {
  /** null until the first refresh loaded the mailbox. */
  latest: MailboxSnapshot | null = null;
  private readonly log: ChangeRecord[] = [];
  readonly watchers = new Set<MailboxWatcher>();
  /** Sessions holding this view (selected, or selecting). */
  refs = 0;
  disposed = false;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** Store events seen, and how many of them a finished refresh has covered. */
  private events = 0;
  private eventsCovered = 0;

  constructor(
    readonly userId: string,
    /** The row as of the last SELECT (its counters are not kept current here). */
    public mailbox: Mailbox,
    private readonly store: MailStore | null,
    private readonly log_: Logger | null,
  ) {}

  get id(): string {
    return this.mailbox.id;
  }

  /** A view of a fixed message list that never refreshes (unit tests). */
  static fixed(mailbox: Mailbox, messages: readonly MailboxMessage[]): SharedMailbox {
    const shared = new SharedMailbox(mailbox.userId, mailbox, null, null);
    shared.latest = initialSnapshot(mailbox, messages);
    return shared;
  }

  /**
   * Resolves once a refresh that started after this call has finished: the snapshot then
   * holds every change committed before the call. Concurrent callers share one refresh.
   */
  sync(): Promise<void> {
    if (!this.store) return Promise.resolve();
    if (this.queued) return this.queued;
    const previous = this.running ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        this.queued = null;
        this.running = next;
        const covers = this.events;
        try {
          await this.refresh();
        } finally {
          // Covered even when it failed (a deleted mailbox): the caller hears the error once,
          // later commands are not held up by the same event again.
          this.eventsCovered = Math.max(this.eventsCovered, covers);
        }
      })
      .finally(() => {
        if (this.running === next) this.running = null;
      });
    this.queued = next;
    return next;
  }

  /**
   * True from a store event until the refresh it started has finished: a session whose own
   * command caused the event waits for it (settle) before answering, to take its change in.
   */
  get stale(): boolean {
    return this.eventsCovered < this.events;
  }

  /** Resolves once no store event is waiting for its refresh (errors are the refresh's). */
  settle(): Promise<void> {
    if (!this.stale) return Promise.resolve();
    return this.queued ?? this.running ?? this.sync();
  }

  /** A store event for this mailbox: refresh, and tell the watchers. */
  changed(): void {
    this.events++;
    this.sync().catch((err: unknown) => this.log_?.warn({ err, mailboxId: this.id }, 'IMAP: refreshing a selected mailbox failed'));
  }

  /** The change that led to the latest snapshot (a session one change behind needs only this). */
  get lastChange(): ChangeRecord | null {
    return this.log.length > 0 ? this.log[this.log.length - 1] : null;
  }

  /** Changes after `version`, oldest first; null when the log no longer reaches back that far. */
  changesSince(version: number): readonly ChangeRecord[] | null {
    const log = this.log;
    if (log.length === 0 || log[0].version > version + 1) return null;
    let i = log.length;
    while (i > 0 && log[i - 1].version > version) i--;
    return log.slice(i);
  }

  private async refresh(): Promise<void> {
    const cur = this.latest;
    const delta = await this.store!.mailboxDelta(this.userId, this.id, cur?.highestModseq ?? 0, cur?.lastUid ?? 0);
    if (this.disposed) return;
    if (!cur) {
      this.latest = initialSnapshot(this.mailbox, delta.added, delta);
      return;
    }
    const step = advance(cur, delta);
    if (!step) return;
    const { next, record } = step;
    if (next.lastUid > cur.lastUid) await this.claimRecent(next.lastUid + 1);
    if (this.disposed) return;
    this.latest = next;
    this.log.push(record);
    if (this.log.length > LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    for (const w of this.watchers) {
      try {
        w.snapshotChanged();
      } catch (err) {
        // One session's bug must not keep the update from the others.
        this.log_?.error({ err, mailboxId: this.id }, 'IMAP: announcing a mailbox change failed');
      }
    }
  }

  /**
   * \Recent for arrivals goes to one session of this process: one that can tell its client
   * now (IDLE) if there is one. The store arbitrates between processes.
   */
  private async claimRecent(end: number): Promise<void> {
    let taker: MailboxWatcher | null = null;
    for (const w of this.watchers) {
      if (w.readOnly) continue;
      if (w.pushesNow) {
        taker = w;
        break;
      }
      taker ??= w;
    }
    if (!taker) return;
    const first = await this.store!.claimRecent(this.userId, this.id, end);
    if (first < end) taker.claimedRecent(first, end);
  }
}

function initialSnapshot(mailbox: Mailbox, messages: readonly MailboxMessage[], delta?: MailboxDelta): MailboxSnapshot {
  const uids = messages.map((m) => m.uid);
  let highest = Math.max(mailbox.highestModseq, delta?.highestModseq ?? 0);
  for (const m of messages) if (m.modseq > highest) highest = m.modseq;
  const last = uids.length > 0 ? uids[uids.length - 1] : 0;
  const uidNext = Math.max(mailbox.uidNext, delta?.uidNext ?? 0, last + 1);
  return new MailboxSnapshot(uids, [...messages], uids.length, 1, highest, uidNext);
}

/** The snapshot after `delta`, or null when nothing changed. */
function advance(cur: MailboxSnapshot, delta: MailboxDelta): { next: MailboxSnapshot; record: ChangeRecord } | null {
  const expunged = delta.expunged.filter((uid) => cur.indexOf(uid) >= 0);
  const gone = expunged.length > 0 ? new Set(expunged) : null;
  const changed = delta.changed.filter((m) => !gone?.has(m.uid) && cur.indexOf(m.uid) >= 0);
  const last = cur.lastUid;
  const added = delta.added.filter((m) => m.uid > last);
  let highest = Math.max(cur.highestModseq, delta.highestModseq);
  for (const m of changed) highest = Math.max(highest, m.modseq);
  for (const m of added) highest = Math.max(highest, m.modseq);
  const uidNext = Math.max(cur.uidNext, delta.uidNext, (added.length > 0 ? added[added.length - 1].uid : last) + 1);
  if (expunged.length === 0 && changed.length === 0 && added.length === 0 && highest === cur.highestModseq && uidNext === cur.uidNext) {
    return null;
  }
  let uids = cur.uids;
  let messages = cur.messages;
  let count = cur.count;
  if (gone) {
    uids = [];
    messages = [];
    for (let i = 0; i < cur.count; i++) {
      if (gone.has(cur.uids[i])) continue;
      uids.push(cur.uids[i]);
      messages.push(cur.messages[i]);
    }
    count = uids.length;
  } else if (changed.length > 0) {
    messages = cur.messages.slice(0, cur.count);
  }
  if (changed.length > 0) {
    const index = gone ? (uid: number) => binaryIndex(uids, count, uid) : (uid: number) => cur.indexOf(uid);
    for (const m of changed) messages[index(m.uid)] = m;
  }
  // The latest snapshot always owns the ends of its arrays: appending is safe.
  for (const m of added) {
    uids.push(m.uid);
    messages.push(m);
  }
  count += added.length;
  const next = new MailboxSnapshot(uids, messages, count, cur.version + 1, highest, uidNext);
  return { next, record: { version: next.version, expunged, changed: changed.map((m) => m.uid) } };
}

/** Position of `uid` among the first `count` ascending `uids`, or -1. */
function binaryIndex(uids: readonly number[], count: number, uid: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (uids[mid] === uid) return mid;
    if (uids[mid] < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The process's shared views, by mailbox, and one store-event subscription per user that
 * has any mailbox selected here.
 */
export class MailboxViews {
  private readonly views = new Map<string, SharedMailbox>();
  private readonly users = new Map<string, { unsubscribe: () => void; views: number }>();

  constructor(
    private readonly store: MailStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  /** The shared view of `mailbox`, held until release(). Not loaded yet: sync() it. */
  acquire(userId: string, mailbox: Mailbox): SharedMailbox {
    const key = `${userId}/${mailbox.id}`;
    let shared = this.views.get(key);
    if (shared) shared.mailbox = mailbox;
    else {
      shared = new SharedMailbox(userId, mailbox, this.store, this.log);
      this.views.set(key, shared);
      let user = this.users.get(userId);
      if (!user) {
        user = { unsubscribe: this.bus.subscribe(userId, (event) => this.onEvent(event)), views: 0 };
        this.users.set(userId, user);
      }
      user.views++;
    }
    shared.refs++;
    return shared;
  }

  release(shared: SharedMailbox): void {
    if (--shared.refs > 0 || shared.disposed) return;
    shared.disposed = true;
    this.views.delete(`${shared.userId}/${shared.id}`);
    const user = this.users.get(shared.userId);
    if (user && --user.views === 0) {
      user.unsubscribe();
      this.users.delete(shared.userId);
    }
  }

  /** How many mailboxes have a shared view (for tests and benchmarks). */
  get size(): number {
    return this.views.size;
  }

  private onEvent(event: StoreEvent): void {
    if (!('mailboxId' in event) || event.mailboxId === null) return;
    this.views.get(`${event.userId}/${event.mailboxId}`)?.changed();
  }
}
