// users.history.list: record types, filters, paging, monotonic ids, and the horizon after
// which an old startHistoryId answers 404.

import assert from 'node:assert/strict';
import { b64url, failure, rfc822, useHarness, valid } from './helpers';

describe('gmail emulator: history', () => {
  const h = useHarness('lazy');
  let clock = 1_700_000_000_000;
  const now = () => clock;

  const insert = async (labelIds = ['INBOX', 'UNREAD']) =>
    (await h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), labelIds } })).data;
  const history = async (params: { startHistoryId: string; historyTypes?: string[]; labelId?: string; maxResults?: number; pageToken?: string }) =>
    valid('gmail.users.history.list', (await h.gmail.users.history.list({ userId: 'me', ...params })).data);

  describe('records', () => {
    beforeEach(async () => {
      await h.start({ now });
    });

    it('messagesAdded, labelsAdded, labelsRemoved, messagesDeleted, in order, with growing ids', async () => {
      const start = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      const m = await insert();
      await h.gmail.users.messages.modify({ userId: 'me', id: m.id!, requestBody: { addLabelIds: ['STARRED'], removeLabelIds: ['UNREAD'] } });
      await h.gmail.users.messages.delete({ userId: 'me', id: m.id! });
      const r = await history({ startHistoryId: start });
      const kinds = r.history!.map((x) => Object.keys(x).filter((k) => k !== 'id' && k !== 'messages')[0]);
      assert.deepEqual(kinds, ['messagesAdded', 'labelsAdded', 'labelsRemoved', 'messagesDeleted']);
      const ids = r.history!.map((x) => BigInt(x.id!));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!);
      assert.equal(r.historyId, String(ids[ids.length - 1]));
      assert.deepEqual(r.history![0]!.messagesAdded![0]!.message, { id: m.id, threadId: m.threadId, labelIds: ['INBOX', 'UNREAD'] });
      assert.deepEqual(r.history![1]!.labelsAdded![0]!.labelIds, ['STARRED']);
      assert.deepEqual(r.history![2]!.labelsRemoved![0]!.labelIds, ['UNREAD']);
      assert.deepEqual(r.history![3]!.messages, [{ id: m.id, threadId: m.threadId }]);

      // Only what came after the given id.
      const later = await history({ startHistoryId: r.history![1]!.id! });
      assert.equal(later.history!.length, 2);
      const none = await history({ startHistoryId: r.historyId! });
      assert.equal(none.history, undefined);
      assert.equal(none.historyId, r.historyId);
    });

    it('filters by historyTypes and labelId, and pages', async () => {
      const start = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      const a = await insert();
      const b = await insert(['SENT']);
      await h.gmail.users.messages.modify({ userId: 'me', id: a.id!, requestBody: { removeLabelIds: ['INBOX'] } });
      await h.gmail.users.messages.modify({ userId: 'me', id: b.id!, requestBody: { addLabelIds: ['STARRED'] } });

      const added = await history({ startHistoryId: start, historyTypes: ['messageAdded'] });
      assert.deepEqual(added.history!.map((x) => x.messagesAdded![0]!.message!.id), [a.id, b.id]);
      const twoTypes = await history({ startHistoryId: start, historyTypes: ['labelAdded', 'labelRemoved'] });
      assert.equal(twoTypes.history!.length, 2);
      // labelId: records of messages in the label, and removals from it.
      const inbox = await history({ startHistoryId: start, labelId: 'INBOX' });
      assert.deepEqual(inbox.history!.map((x) => x.messages![0]!.id), [a.id, a.id]);

      const seen: string[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const p = await history({ startHistoryId: start, maxResults: 1, pageToken });
        seen.push(...p.history!.map((x) => x.id!));
        pageToken = p.nextPageToken ?? undefined;
        pages++;
      } while (pageToken);
      assert.equal(pages, 4);
      assert.deepEqual(seen, (await history({ startHistoryId: start })).history!.map((x) => x.id));
    });

    it('message and thread historyIds follow their last change; ids leave gaps', async () => {
      const m = await insert();
      const before = (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'minimal' })).data.historyId!;
      await h.gmail.users.messages.modify({ userId: 'me', id: m.id!, requestBody: { addLabelIds: ['STARRED'] } });
      const after = (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'minimal' })).data.historyId!;
      assert.ok(BigInt(after) > BigInt(before));
      assert.equal((await h.gmail.users.threads.get({ userId: 'me', id: m.threadId!, format: 'minimal' })).data.historyId, after);
      const steps = new Set<bigint>();
      let last = BigInt(after);
      for (let i = 0; i < 4; i++) {
        const x = await insert();
        const id = BigInt((await h.gmail.users.messages.get({ userId: 'me', id: x.id!, format: 'minimal' })).data.historyId!);
        steps.add(id - last);
        last = id;
      }
      assert.ok(steps.size > 1, 'history ids do not grow by a constant step');
    });

    it('needs startHistoryId', async () => {
      assert.equal((await failure(h.gmail.users.history.list({ userId: 'me' }))).status, 400);
    });
  });

  describe('horizon', () => {
    it('404 for a startHistoryId older than the kept history (age)', async () => {
      // Tokens outlive the jumps of the fake clock (the client's own expiry uses the real one).
      await h.start({ now, historyHorizon: { maxAgeMs: 7 * 86400_000 }, tokenLifetimeSeconds: 30 * 86400 });
      const start = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      await insert();
      clock += 6 * 86400_000;
      const mid = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      await insert();
      assert.equal((await history({ startHistoryId: start })).history!.length, 2);
      clock += 2 * 86400_000;
      const gone = await failure(h.gmail.users.history.list({ userId: 'me', startHistoryId: start }));
      assert.equal(gone.status, 404);
      assert.equal(gone.reason, 'notFound');
      assert.equal((await history({ startHistoryId: mid })).history!.length, 1);
    });

    it('404 for a startHistoryId older than the kept history (count), and after expireHistory', async () => {
      await h.start({ now, historyHorizon: { maxRecords: 2 } });
      const start = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      await insert();
      await insert();
      assert.equal((await history({ startHistoryId: start })).history!.length, 2);
      await insert();
      assert.equal((await failure(h.gmail.users.history.list({ userId: 'me', startHistoryId: start }))).status, 404);
      const current = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
      h.emu.state.expireHistory('alice@example.com');
      assert.equal((await failure(h.gmail.users.history.list({ userId: 'me', startHistoryId: String(BigInt(current) - 1n) }))).status, 404);
      assert.deepEqual(await history({ startHistoryId: current }), { historyId: current });
    });
  });
});
