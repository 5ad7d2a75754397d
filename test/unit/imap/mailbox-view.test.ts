// The shared mailbox view (src/imap/mailbox-view.ts) and the per-session view over it
// (src/imap/selected.ts): one store read per change for every session, and each session's
// sequence numbers, held expunges, own changes and \Recent kept as the RFCs want them.
import assert from 'node:assert/strict';
import type { Mailbox, MailboxDelta, MailboxMessage, MailStore } from '../../../src/core/ports';
import { SharedMailbox } from '../../../src/imap/mailbox-view';
import { SelectedMailbox, type PendingUpdates } from '../../../src/imap/selected';

/** Just enough of a store: messages, an expunge log, modseqs, \Recent claims. */
class FakeStore {
  messages: MailboxMessage[] = [];
  expunged: Array<{ uid: number; modseq: number }> = [];
  modseq = 1;
  uidNext = 1;
  recentBoundary = 1;
  deltaReads = 0;

  append(...flagSets: string[][]): number[] {
    const modseq = ++this.modseq;
    return flagSets.map((flags) => {
      const uid = this.uidNext++;
      this.messages.push({ uid, modseq, flags, internalDate: new Date(0), size: 10, contentId: `c${uid}` });
      return uid;
    });
  }

  setFlags(uid: number, flags: string[]): MailboxMessage {
    const i = this.messages.findIndex((m) => m.uid === uid);
    this.messages[i] = { ...this.messages[i], flags, modseq: ++this.modseq };
    return this.messages[i];
  }

  expunge(...uids: number[]): void {
    const modseq = ++this.modseq;
    this.messages = this.messages.filter((m) => !uids.includes(m.uid));
    for (const uid of uids) this.expunged.push({ uid, modseq });
  }

  async mailboxDelta(_user: string, _mailbox: string, since: number, lastUid: number): Promise<MailboxDelta> {
    this.deltaReads++;
    await new Promise((r) => setImmediate(r));
    return {
      added: this.messages.filter((m) => m.uid > lastUid),
      changed: this.messages.filter((m) => m.uid <= lastUid && m.modseq > since),
      expunged: this.expunged.filter((e) => e.modseq > since && e.uid <= lastUid).map((e) => e.uid),
      highestModseq: this.modseq,
      uidNext: this.uidNext,
    };
  }

  async claimRecent(_user: string, _mailbox: string, upTo: number): Promise<number> {
    const first = this.recentBoundary;
    this.recentBoundary = Math.max(first, upTo);
    return Math.min(first, upTo);
  }
}

const MAILBOX: Mailbox = {
  id: '7',
  userId: 'u1',
  accountId: 'a1',
  name: 'INBOX',
  specialUse: null,
  uidValidity: 1,
  uidNext: 1,
  highestModseq: 1,
  backendId: null,
};

/** A session as the shared view sees it: idle or not, and what it was pushed. */
class Owner {
  pushed: PendingUpdates[] = [];
  constructor(public idling = false) {}
  snapshotChanged(sel: SelectedMailbox): void {
    if (this.idling) this.pushed.push(sel.catchUp(true));
  }
}

describe('shared mailbox view', () => {
  let store: FakeStore;
  let shared: SharedMailbox;

  async function open(owner = new Owner(), readOnly = false): Promise<{ sel: SelectedMailbox; owner: Owner }> {
    await shared.sync();
    const sel = new SelectedMailbox(MAILBOX, shared, readOnly);
    sel.owner = owner;
    shared.watchers.add(sel);
    return { sel, owner };
  }

  /** A store change as a session would hear of it: an event, then the refresh it starts. */
  async function event(): Promise<void> {
    shared.changed();
    await shared.settle();
  }

  beforeEach(() => {
    store = new FakeStore();
    shared = new SharedMailbox('u1', MAILBOX, store as unknown as MailStore, null);
  });

  it('reads the store once per change for every session, and they share the messages', async () => {
    store.append([], ['\\Seen'], []);
    const sessions = await Promise.all(Array.from({ length: 50 }, () => open(new Owner(true))));
    const reads = store.deltaReads;
    store.append(['$Work']);
    await event();
    assert.equal(store.deltaReads - reads, 1);
    for (const { sel, owner } of sessions) {
      assert.equal(owner.pushed.length, 1);
      assert.equal(owner.pushed[0].exists, 4);
      assert.deepEqual(sel.allUids(), [1, 2, 3, 4]);
      assert.equal(sel.current, true);
    }
    assert.equal(sessions[0].sel.message(4), sessions[49].sel.message(4));
  });

  it('holds expunges back where they may not be sent, keeping sequence numbers, and sends them later', async () => {
    store.append([], [], [], []);
    const a = await open();
    const b = await open();
    store.expunge(2);
    store.append([]);
    await event();
    const held = a.sel.catchUp(false);
    assert.deepEqual(held.expunged, []);
    assert.equal(held.exists, 5);
    assert.equal(a.sel.seqOf(3), 3);
    assert.equal(a.sel.isExpungePending(2), true);
    assert.equal(a.sel.holdsExpunges, true);
    const told = b.sel.catchUp(true);
    assert.deepEqual(told.expunged, [2]);
    assert.equal(b.sel.seqOf(3), 2);
    // Later, where EXPUNGE is allowed: the held one, by the number the client knows.
    const later = a.sel.catchUp(true);
    assert.deepEqual(later.expunged, [2]);
    assert.deepEqual(later.expungedUids, [2]);
    assert.equal(later.exists, null);
    assert.deepEqual(a.sel.allUids(), [1, 3, 4, 5]);
    assert.equal(a.sel.holdsExpunges, false);
    assert.equal(a.sel.current, true);
  });

  it("does not echo a session's own flag change, and shows it to the others", async () => {
    store.append([], []);
    const a = await open();
    const b = await open();
    a.sel.updateMessage(store.setFlags(1, ['\\Seen']));
    await event();
    assert.deepEqual(a.sel.catchUp(true).flagChanges, []);
    const seen = b.sel.catchUp(true).flagChanges;
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0][0], 1);
    assert.deepEqual(seen[0][1].flags, ['\\Seen']);
  });

  it("does not take back a message the session expunged itself before the view knew", async () => {
    store.append([], [], []);
    const a = await open();
    store.expunge(3);
    assert.deepEqual(a.sel.removeOwn([3]), [3]);
    // A refresh that read the store before the expunge: the view still has UID 3.
    store.expunged.pop();
    store.messages.push({ uid: 3, modseq: store.modseq, flags: [], internalDate: new Date(0), size: 10, contentId: 'c3' });
    store.setFlags(1, ['\\Flagged']);
    await event();
    const first = a.sel.catchUp(true);
    assert.equal(first.exists, null);
    assert.deepEqual(a.sel.allUids(), [1, 2]);
    // Now the store has the expunge for real: nothing to announce twice.
    store.messages = store.messages.filter((m) => m.uid !== 3);
    store.expunged.push({ uid: 3, modseq: ++store.modseq });
    store.append([]);
    await event();
    const second = a.sel.catchUp(true);
    assert.deepEqual(second.expunged, []);
    assert.equal(second.exists, 3);
    assert.deepEqual(a.sel.allUids(), [1, 2, 4]);
    assert.equal(a.sel.current, true);
  });

  it('catches up a session that fell further behind than the change log', async () => {
    store.append([], [], [], []);
    const a = await open();
    const b = await open();
    for (let i = 0; i < 80; i++) {
      store.setFlags(1 + (i % 4), [`$k${i}`]);
      await event();
      b.sel.catchUp(true);
    }
    store.expunge(2);
    store.append([]);
    await event();
    const u = a.sel.catchUp(true);
    assert.deepEqual(u.expunged, [2]);
    assert.equal(u.exists, 4);
    assert.deepEqual(u.flagChanges.map(([seq, m]) => [seq, m.uid]), [
      [1, 1],
      [2, 3],
      [3, 4],
    ]);
    assert.deepEqual(a.sel.allUids(), [1, 3, 4, 5]);
  });

  it("leaves a lagging session's snapshot as it was: numbers and flags change only when told", async () => {
    store.append([], []);
    const a = await open();
    const b = await open();
    store.setFlags(1, ['\\Answered']);
    store.append([]);
    await event();
    b.sel.catchUp(true);
    assert.equal(a.sel.count, 2);
    assert.deepEqual(a.sel.message(1)!.flags, []);
    assert.equal(a.sel.message(3), undefined);
    assert.deepEqual(a.sel.allUids(), [1, 2]);
    assert.equal(b.sel.count, 3);
  });

  it('gives \\Recent of an arrival to one writable session, one that is idling first', async () => {
    store.append([]);
    store.recentBoundary = 2;
    const reader = await open(new Owner(true), true);
    const busy = await open(new Owner(false));
    const idle = await open(new Owner(true));
    store.append([]);
    await event();
    busy.sel.catchUp(true);
    assert.equal(idle.sel.recent.has(2), true);
    assert.equal(busy.sel.recent.has(2), false);
    assert.equal(reader.sel.recent.has(2), false);
    assert.equal(idle.owner.pushed.at(-1)!.exists, 2);
  });
});
