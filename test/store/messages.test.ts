import assert from 'node:assert/strict';
import { CannotError, NotFoundError } from '../../src/core/errors';
import type { Mailbox, User } from '../../src/core/ports';
import { openTestStore, type TestStore } from '../support/db';
import { mailbox, rawMessage, rejects, uniqueName } from './helpers';

describe('store: messages', () => {
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

  async function appendN(box: Mailbox, n: number, flags: string[] = []): Promise<number[]> {
    const inputs = Array.from({ length: n }, (_, i) => ({ raw: rawMessage(`m${i}`), flags }));
    return (await t.store.appendMessages(user.id, box.id, inputs)).uids;
  }

  describe('append and list', () => {
    it('appends with normalised flags, internal date, size and content', async () => {
      const raw = rawMessage('hello');
      const date = new Date('2024-02-03T04:05:06Z');
      const result = await t.store.appendMessages(user.id, inbox.id, [
        { raw, flags: ['\\seen', '\\SEEN', '$Label1', '$label1', '\\Recent', 'Work'], internalDate: date },
        { raw: rawMessage('second'), flags: [] },
      ]);
      assert.equal(result.uidValidity, inbox.uidValidity);
      assert.deepEqual(result.uids, [1, 2]);
      const messages = await t.store.listMessages(user.id, inbox.id);
      assert.equal(messages.length, 2);
      assert.deepEqual(messages[0].flags, ['\\Seen', '$Label1', 'Work']);
      assert.equal(messages[0].internalDate.getTime(), date.getTime());
      assert.equal(messages[0].size, raw.length);
      assert.equal(typeof messages[0].modseq, 'number');
      assert.equal(messages[0].modseq, messages[1].modseq, 'one call, one modseq');
      assert.ok(messages[0].modseq > inbox.highestModseq);
      const content = await t.store.getContent(user.id, messages[0].contentId);
      assert.ok(content?.raw.equals(raw));
      const after = await mailbox(t.store, user.id, 'INBOX');
      assert.equal(after.uidNext, 3);
      assert.equal(after.highestModseq, messages[0].modseq);
    });

    it('gives 50 concurrent appends 50 distinct ascending UIDs and modseqs', async () => {
      const box = await t.store.createMailbox(user.id, 'Busy');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => t.store.appendMessages(user.id, box.id, [{ raw: rawMessage(`c${i}`), flags: [] }])),
      );
      const uids = results.flatMap((r) => r.uids).sort((a, b) => a - b);
      assert.deepEqual(uids, Array.from({ length: 50 }, (_, i) => i + 1));
      const listed = await t.store.listMessages(user.id, box.id);
      assert.deepEqual(listed.map((m) => m.uid), uids);
      // modseq order follows UID order: later UIDs were committed later
      const modseqs = listed.map((m) => m.modseq);
      assert.equal(new Set(modseqs).size, 50);
      assert.deepEqual([...modseqs].sort((a, b) => a - b), modseqs);
      const after = await mailbox(t.store, user.id, 'Busy');
      assert.equal(after.uidNext, 51);
      assert.equal(after.highestModseq, modseqs[49]);
    });

    it('never reuses UIDs after expunge', async () => {
      await appendN(inbox, 3);
      await t.store.expungeMessages(user.id, inbox.id, [2, 3]);
      const [uid] = await appendN(inbox, 1);
      assert.equal(uid, 4);
    });

    it('keeps summaries beside the content', async () => {
      await appendN(inbox, 2);
      const [a, b] = await t.store.listMessages(user.id, inbox.id);
      await t.store.saveContentSummary(user.id, a.contentId, '{"envelope":1}');
      const map = await t.store.getContentSummaries(user.id, [a.contentId, b.contentId, '999999', 'junk']);
      assert.deepEqual([...map.entries()], [[a.contentId, '{"envelope":1}']]);
    });
  });

  describe('storeFlags', () => {
    it('adds, removes and sets flags, reporting only real changes', async () => {
      await appendN(inbox, 3, ['\\Seen']);
      const before = await t.store.listMessages(user.id, inbox.id);
      const added = await t.store.storeFlags(user.id, inbox.id, [1, 2, 3, 99], 'add', ['\\flagged', '$Work']);
      assert.deepEqual(added.updated.map((m) => m.uid), [1, 2, 3]);
      assert.deepEqual(added.updated[0].flags, ['\\Seen', '\\Flagged', '$Work']);
      const modseq = added.updated[0].modseq;
      assert.ok(modseq > before[0].modseq);
      assert.ok(added.updated.every((m) => m.modseq === modseq));
      assert.deepEqual(added.modified, []);

      // already there (keywords compare case-insensitively): nothing changes
      const again = await t.store.storeFlags(user.id, inbox.id, [1, 2, 3], 'add', ['$WORK', '\\Seen']);
      assert.deepEqual(again.updated, []);
      assert.equal((await mailbox(t.store, user.id, 'INBOX')).highestModseq, modseq);

      const removed = await t.store.storeFlags(user.id, inbox.id, [2], 'remove', ['$work', '\\Recent']);
      assert.deepEqual(removed.updated.map((m) => [m.uid, m.flags]), [[2, ['\\Seen', '\\Flagged']]]);
      assert.ok(removed.updated[0].modseq > modseq);

      const set = await t.store.storeFlags(user.id, inbox.id, [1, 3], 'set', ['\\Answered']);
      assert.deepEqual(set.updated.map((m) => [m.uid, m.flags]), [
        [1, ['\\Answered']],
        [3, ['\\Answered']],
      ]);
      const listed = await t.store.listMessages(user.id, inbox.id);
      assert.deepEqual(listed.map((m) => m.flags), [['\\Answered'], ['\\Seen', '\\Flagged'], ['\\Answered']]);
    });

    it('honours UNCHANGEDSINCE (RFC 7162)', async () => {
      await appendN(inbox, 3);
      const base = (await t.store.listMessages(user.id, inbox.id))[0].modseq;
      const bumped = await t.store.storeFlags(user.id, inbox.id, [2], 'add', ['\\Seen']);
      const m2 = bumped.updated[0].modseq;
      const result = await t.store.storeFlags(user.id, inbox.id, [1, 2, 3], 'add', ['\\Flagged'], base);
      assert.deepEqual(result.modified, [2]);
      assert.deepEqual(result.updated.map((m) => m.uid), [1, 3]);
      const listed = await t.store.listMessages(user.id, inbox.id);
      assert.deepEqual(listed[1].flags, ['\\Seen'], 'message 2 left alone');
      assert.equal(listed[1].modseq, m2);
      // UNCHANGEDSINCE 0 fails for every message
      const zero = await t.store.storeFlags(user.id, inbox.id, [1], 'add', ['\\Draft'], 0);
      assert.deepEqual(zero.modified, [1]);
      assert.deepEqual(zero.updated, []);
    });
  });

  describe('expunge and delta', () => {
    it('expunges, logs each UID with a new modseq, and returns UIDs ascending', async () => {
      await appendN(inbox, 5);
      const expunged = await t.store.expungeMessages(user.id, inbox.id, [4, 2, 99, 2]);
      assert.deepEqual(expunged, [2, 4]);
      assert.deepEqual((await t.store.listMessages(user.id, inbox.id)).map((m) => m.uid), [1, 3, 5]);
      const log = await t.db.dataSource.query<{ uid: number; modseq: string; user_id: string }[]>(
        'SELECT uid, modseq, user_id FROM expunge_log WHERE mailbox_id = $1 ORDER BY uid',
        [inbox.id],
      );
      const now = await mailbox(t.store, user.id, 'INBOX');
      assert.deepEqual(log.map((l) => [l.uid, Number(l.modseq), l.user_id]), [
        [2, now.highestModseq, user.id],
        [4, now.highestModseq, user.id],
      ]);
      assert.deepEqual(await t.store.expungeMessages(user.id, inbox.id, [2]), []);
      assert.equal((await mailbox(t.store, user.id, 'INBOX')).highestModseq, now.highestModseq, 'no-op expunge keeps modseq');
    });

    it('reports added, changed and expunged since a modseq', async () => {
      await appendN(inbox, 4);
      const seen = await mailbox(t.store, user.id, 'INBOX');
      const sinceModseq = seen.highestModseq;
      const lastUid = seen.uidNext - 1;
      await t.store.storeFlags(user.id, inbox.id, [2], 'add', ['\\Seen']);
      await t.store.expungeMessages(user.id, inbox.id, [3]);
      await appendN(inbox, 2); // uids 5, 6
      await t.store.expungeMessages(user.id, inbox.id, [6]); // never seen by the caller
      const d = await t.store.mailboxDelta(user.id, inbox.id, sinceModseq, lastUid);
      assert.deepEqual(d.added.map((m) => m.uid), [5]);
      assert.deepEqual(d.changed.map((m) => [m.uid, m.flags]), [[2, ['\\Seen']]]);
      assert.deepEqual(d.expunged, [3]);
      const now = await mailbox(t.store, user.id, 'INBOX');
      assert.equal(d.highestModseq, now.highestModseq);
      assert.equal(d.uidNext, 7);
      // nothing new since now
      const none = await t.store.mailboxDelta(user.id, inbox.id, now.highestModseq, 6);
      assert.deepEqual([none.added, none.changed, none.expunged], [[], [], []]);
    });

    it('modseq strictly increases across every kind of change', async () => {
      const box = await t.store.createMailbox(user.id, 'Seq');
      const seen: number[] = [(await mailbox(t.store, user.id, 'Seq')).highestModseq];
      const record = async () => seen.push((await mailbox(t.store, user.id, 'Seq')).highestModseq);
      await appendN(box, 2);
      await record();
      await t.store.storeFlags(user.id, box.id, [1], 'add', ['\\Seen']);
      await record();
      await t.store.expungeMessages(user.id, box.id, [1]);
      await record();
      await t.store.copyMessages(user.id, inbox.id, [], box.id); // nothing copied: no change
      await t.store.appendMessages(user.id, inbox.id, [{ raw: rawMessage('x'), flags: [] }]);
      await t.store.copyMessages(user.id, inbox.id, [1], box.id);
      await record();
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `modseq ${seen}`);
    });
  });

  describe('copy and move', () => {
    it('copies in source-UID order, keeping flags, date and content', async () => {
      const dest = await t.store.createMailbox(user.id, 'Copies');
      await appendN(dest, 2); // dest UIDs 1, 2 taken
      await t.store.appendMessages(user.id, inbox.id, [
        { raw: rawMessage('a'), flags: ['\\Seen'], internalDate: new Date('2020-01-01T00:00:00Z') },
        { raw: rawMessage('b'), flags: ['$X'] },
        { raw: rawMessage('c'), flags: [] },
      ]);
      const result = await t.store.copyMessages(user.id, inbox.id, [3, 1, 42], dest.id);
      assert.deepEqual(result, { uidValidity: dest.uidValidity, sourceUids: [1, 3], destUids: [3, 4] });
      const src = await t.store.listMessages(user.id, inbox.id);
      const copies = (await t.store.listMessages(user.id, dest.id)).slice(2);
      assert.equal(src.length, 3, 'copy leaves the source');
      assert.deepEqual(copies.map((m) => m.contentId), [src[0].contentId, src[2].contentId]);
      assert.deepEqual(copies[0].flags, ['\\Seen']);
      assert.equal(copies[0].internalDate.getTime(), Date.parse('2020-01-01T00:00:00Z'));
      assert.equal(copies[0].modseq, (await mailbox(t.store, user.id, 'Copies')).highestModseq);
    });

    it('moves: copy plus expunge from the source in one step', async () => {
      const dest = await t.store.createMailbox(user.id, 'Moved');
      await appendN(inbox, 3, ['\\Flagged']);
      const result = await t.store.moveMessages(user.id, inbox.id, [2, 3], dest.id);
      assert.deepEqual(result, { uidValidity: dest.uidValidity, sourceUids: [2, 3], destUids: [1, 2] });
      assert.deepEqual((await t.store.listMessages(user.id, inbox.id)).map((m) => m.uid), [1]);
      const moved = await t.store.listMessages(user.id, dest.id);
      assert.deepEqual(moved.map((m) => [m.uid, m.flags]), [
        [1, ['\\Flagged']],
        [2, ['\\Flagged']],
      ]);
      const d = await t.store.mailboxDelta(user.id, inbox.id, 0, 3);
      assert.deepEqual(d.expunged, [2, 3]);
      // contents are shared, not collected, after a move
      assert.ok(await t.store.getContent(user.id, moved[0].contentId));
    });

    it('reports a missing destination as TRYCREATE, and moves into the same mailbox with new UIDs', async () => {
      await appendN(inbox, 1);
      const err = await rejects(t.store.copyMessages(user.id, inbox.id, [1], '987654321'));
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.imapCode, 'TRYCREATE');
      // COPY into the same mailbox is allowed and duplicates
      const same = await t.store.copyMessages(user.id, inbox.id, [1], inbox.id);
      assert.deepEqual(same.destUids, [2]);
      const moved = await t.store.moveMessages(user.id, inbox.id, [1], inbox.id);
      assert.deepEqual(moved.destUids, [3]);
      assert.deepEqual((await t.store.listMessages(user.id, inbox.id)).map((m) => m.uid), [2, 3]);
    });
  });
});
