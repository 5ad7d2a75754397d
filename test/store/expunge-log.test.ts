// Design invariant 4: every change gets a new MODSEQ, expunges are logged as (uid, modseq),
// and once the log is trimmed the answers report more UIDs, never fewer.
import assert from 'node:assert/strict';
import type { Mailbox, User } from '../../src/core/ports';
import { openTestStore, type TestStore } from '../support/db';
import { mailbox, rawMessage, uniqueName } from './helpers';

describe('store: MODSEQ and the expunge log', () => {
  let t: TestStore;
  let user: User;
  let inbox: Mailbox;
  before(async () => {
    t = await openTestStore();
  });
  after(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    user = await t.store.createUser(uniqueName(), 'pw');
    inbox = await mailbox(t.store, user.id, 'INBOX');
  });

  async function appendN(box: Mailbox, n: number): Promise<number[]> {
    const inputs = Array.from({ length: n }, (_, i) => ({ raw: rawMessage(`m${i}`), flags: [] }));
    return (await t.store.appendMessages(user.id, box.id, inputs)).uids;
  }
  const highest = async (box: Mailbox) => (await mailbox(t.store, user.id, box.name)).highestModseq;

  it('every arrival, flag change, expunge, copy and move gets a new, higher MODSEQ', async () => {
    const other = await t.store.createMailbox(user.id, 'Other');
    const seen: number[] = [await highest(inbox)];
    const step = async (what: string, box: Mailbox) => {
      const now = await highest(box);
      assert.ok(now > seen[seen.length - 1], `${what} raised HIGHESTMODSEQ (${now})`);
      seen.push(now);
    };
    await appendN(inbox, 3);
    await step('APPEND', inbox);
    await t.store.storeFlags(user.id, inbox.id, [1], 'add', ['\\Seen']);
    await step('STORE', inbox);
    const msgs = await t.store.listMessages(user.id, inbox.id);
    assert.equal(msgs[0].modseq, seen[seen.length - 1], 'the changed message carries the new modseq');
    await t.store.expungeMessages(user.id, inbox.id, [2]);
    await step('EXPUNGE', inbox);
    const beforeCopy = await highest(other);
    await t.store.copyMessages(user.id, inbox.id, [1], other.id);
    assert.ok((await highest(other)) > beforeCopy, 'COPY raised the destination');
    await t.store.moveMessages(user.id, inbox.id, [3], other.id);
    await step('MOVE out', inbox);
    // A no-op STORE changes nothing, so it takes no modseq.
    const before = await highest(inbox);
    await t.store.storeFlags(user.id, inbox.id, [1], 'add', ['\\Seen']);
    assert.equal(await highest(inbox), before);
    const log = await t.store.expungedSince(user.id, inbox.id, 0, null);
    assert.deepEqual(log, { uids: [2, 3], complete: true });
  });

  it('expungedSince answers by modseq and UID ranges', async () => {
    await appendN(inbox, 6);
    await t.store.expungeMessages(user.id, inbox.id, [1]);
    const mark = await highest(inbox);
    await t.store.expungeMessages(user.id, inbox.id, [3, 5]);
    assert.deepEqual((await t.store.expungedSince(user.id, inbox.id, mark, null)).uids, [3, 5]);
    assert.deepEqual((await t.store.expungedSince(user.id, inbox.id, 0, [[2, 4]])).uids, [3]);
    assert.deepEqual((await t.store.expungedSince(user.id, inbox.id, 0, [[1, 1], [5, 9]])).uids, [1, 5]);
  });

  it('after trimming, answers from below the floor are marked incomplete and catch-ups drop every absent UID', async () => {
    await appendN(inbox, 5);
    const mark = await highest(inbox);
    await t.store.expungeMessages(user.id, inbox.id, [2, 4]);
    const trimmed = await t.store.trimExpungeLog(new Date(Date.now() + 60_000));
    assert.ok(trimmed >= 2);
    const after = await t.store.expungedSince(user.id, inbox.id, mark, null);
    assert.equal(after.complete, false);
    // From at or above the floor the (empty) answer is complete again.
    assert.equal((await t.store.expungedSince(user.id, inbox.id, await highest(inbox), null)).complete, true);
    const delta = await t.store.mailboxDelta(user.id, inbox.id, mark, 5);
    assert.deepEqual(delta.expunged, [2, 4]);
  });
});
