// The Gmail adapter against the Gmail API emulator (which checks every request and answer
// against Google's discovery document): labels as folders, history as typed changes, 404 as
// a snapshot, metadata batched and raw on demand, write-back as label changes.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendChange, ChangeSet, ListedMessage } from '../../adapters/contract';
import { ALL_MAIL, type GmailSession } from '../../adapters/gmail';
import { planFolderDelta, decodePush } from '../../adapters/gmail/mapping';
import { gmailFixture, GMAIL_USER, mime, type GmailFixture } from '../support/gmail';

function snapshotOf(c: ChangeSet): ListedMessage[] {
  assert.equal(c.kind, 'snapshot');
  return c.kind === 'snapshot' ? c.messages : [];
}

function deltaOf(c: ChangeSet): BackendChange[] {
  assert.equal(c.kind, 'delta', 'expected a delta');
  return c.kind === 'delta' ? c.changes : [];
}

describe('Gmail adapter', function () {
  this.timeout(20000);
  let fx: GmailFixture;
  let session: GmailSession;

  beforeEach(async () => {
    fx = await gmailFixture();
    session = await fx.adapter.connect();
  });
  afterEach(async () => {
    session.abort();
    await fx.emu.stop();
    assert.deepEqual(fx.emu.state.violations, [], 'the emulator saw requests or answers the discovery document does not allow');
  });

  const mb = (): ReturnType<GmailFixture['emu']['state']['mailbox']> => fx.emu.state.mailbox(GMAIL_USER);
  const apiCalls = (suffix: string): number => fx.emu.state.requests.filter((r) => r.methodId?.endsWith(suffix)).length;

  it('lists labels as folders: system ones with special uses, All Mail, user labels as a hierarchy, categories hidden', async () => {
    mb().labels.create({ name: 'Work/Projects', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    mb().labels.create({ name: 'Work', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const folders = await session.listFolders();
    const byName = new Map(folders.map((f) => [f.name, f]));
    assert.deepEqual(
      folders.slice(0, 7).map((f) => [f.id, f.name, f.specialUse]),
      [
        ['INBOX', 'INBOX', null],
        ['SENT', 'Sent', '\\Sent'],
        ['DRAFT', 'Drafts', '\\Drafts'],
        ['TRASH', 'Trash', '\\Trash'],
        ['SPAM', 'Junk', '\\Junk'],
        ['STARRED', 'Starred', '\\Flagged'],
        [ALL_MAIL, 'All Mail', '\\All'],
      ],
    );
    assert.equal(folders[0]!.inbox, true);
    const work = byName.get('Work')!;
    assert.ok(work.id.startsWith('Label_'));
    assert.equal(work.parentId, null);
    assert.deepEqual([byName.get('Projects')?.parentId, byName.get('Projects')?.id.startsWith('Label_')], [work.id, true]);
    // A nested label whose parent has no label of its own gets a \Noselect level.
    mb().labels.create({ name: 'Clients/Acme', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const again = await session.listFolders();
    const clients = again.find((f) => f.name === 'Clients')!;
    assert.equal(clients.id, 'PATH:Clients');
    assert.equal(clients.noSelect, true);
    assert.equal(work.noSelect, undefined);
    assert.equal(again.find((f) => f.name === 'Acme')?.parentId, clients.id);
    assert.deepEqual(snapshotOf(await session.changes(clients.id, null)), []);
    for (const f of folders) assert.ok(!/^(CATEGORY_|IMPORTANT|UNREAD|CHAT)/.test(f.id), `${f.id} should be hidden`);
  });

  it('first sync: a snapshot per folder, oldest first, flags from labels, metadata batched, cursor = historyId', async () => {
    const a = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'one' }));
    const b = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'two' }), ['INBOX', 'STARRED']);
    const c = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'archived' }), ['UNREAD']);
    const inbox = await session.changes('INBOX', null);
    assert.equal(inbox.kind, 'snapshot');
    assert.equal(inbox.cursor, String(mb().history.current()));
    const msgs = snapshotOf(inbox);
    assert.deepEqual(msgs.map((m) => m.id), [a.id, b.id]);
    assert.deepEqual(msgs[0]!.flags, []);
    assert.deepEqual(msgs[1]!.flags, ['\\Seen', '\\Flagged']);
    assert.equal(msgs[0]!.size, a.raw.length);
    assert.equal(msgs[0]!.internalDate?.getTime(), a.internalDate);
    const all = snapshotOf(await session.changes(ALL_MAIL, null));
    assert.deepEqual(all.map((m) => m.id), [a.id, b.id, c.id]);
    // Metadata went through the batch endpoint, and each message was fetched once per session.
    assert.ok(fx.emu.state.requests.some((r) => r.path === '/batch/gmail/v1'));
    assert.equal(fx.emu.state.quota.usage(GMAIL_USER).calls['gmail.users.messages.get'], 3);
    // Raw on demand, byte-exact.
    const got = new Map<string, Buffer>();
    await session.fetchRaw('INBOX', [b.id, a.id], async (id, raw) => {
      got.set(id, raw);
    });
    assert.deepEqual([...got.keys()], [b.id, a.id]);
    assert.deepEqual(got.get(a.id), a.raw);
  });

  it('history becomes typed changes per folder, with one history.list per session for all folders', async () => {
    mb().labels.create({ name: 'Archive', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const archive = mb().labels.byName('Archive')!.id;
    const old = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'old' }));
    const cursor = snapshotOf(await session.changes('INBOX', null)) && String(mb().history.current());
    session.abort();

    const fresh = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'new' }));
    mb().modify(old.id, [archive], ['UNREAD']); // labelled Archive and read
    const gone = fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'short-lived' }));
    mb().delete(gone.id);
    mb().modify(fresh.id, ['STARRED'], []);

    session = await fx.adapter.connect();
    const before = apiCalls('history.list');
    const inbox = await session.changes('INBOX', cursor);
    const arch = await session.changes(archive, cursor);
    const starred = await session.changes('STARRED', cursor);
    const all = await session.changes(ALL_MAIL, cursor);
    const sent = await session.changes('SENT', cursor);
    assert.equal(apiCalls('history.list') - before, 1, 'one history.list serves every folder');
    assert.equal(inbox.cursor, String(mb().history.current()));

    const inboxChanges = deltaOf(inbox);
    assert.deepEqual(
      inboxChanges.map((c) => [c.kind, 'id' in c ? c.id : c.kind === 'created' ? c.message.id : '']),
      [
        ['created', fresh.id],
        ['flags', old.id],
        ['deleted', gone.id],
      ],
    );
    assert.deepEqual(inboxChanges[1], { kind: 'flags', folderId: 'INBOX', id: old.id, flags: ['\\Seen'] });
    const created = inboxChanges[0] as Extract<BackendChange, { kind: 'created' }>;
    assert.deepEqual(created.message.flags, ['\\Flagged']);
    assert.equal(created.message.size, fresh.raw.length);
    assert.deepEqual(
      deltaOf(arch).map((c) => c.kind + ':' + (c.kind === 'created' ? c.message.id : c.id)),
      [`created:${old.id}`],
    );
    assert.deepEqual(deltaOf(starred).map((c) => c.kind + ':' + (c.kind === 'created' ? c.message.id : 'x')), [`created:${fresh.id}`]);
    assert.deepEqual(
      deltaOf(all).map((c) => c.kind),
      ['created', 'flags', 'deleted'],
    );
    assert.deepEqual(deltaOf(sent), []);

    // Label removed -> deleted in that folder only; nothing new -> an empty delta.
    const c2 = inbox.cursor!;
    session.abort();
    mb().modify(old.id, [], [archive]);
    session = await fx.adapter.connect();
    assert.deepEqual(deltaOf(await session.changes(archive, c2)), [{ kind: 'deleted', folderId: archive, id: old.id }]);
    assert.deepEqual(deltaOf(await session.changes('INBOX', c2)), []);
    // Trash takes a message out of All Mail.
    const c3 = String(mb().history.current());
    session.abort();
    mb().trash(fresh.id);
    session = await fx.adapter.connect();
    assert.deepEqual(
      deltaOf(await session.changes(ALL_MAIL, c3)).map((c) => c.kind),
      ['deleted'],
    );
  });

  it('a history id Gmail no longer knows (404) gives a snapshot with the same message ids', async () => {
    const a = fx.emu.state.deliver(GMAIL_USER, mime());
    const first = snapshotOf(await session.changes('INBOX', null));
    const cursor = String(mb().history.current());
    const b = fx.emu.state.deliver(GMAIL_USER, mime());
    fx.emu.state.expireHistory(GMAIL_USER);
    session.abort();
    session = await fx.adapter.connect();
    const again = await session.changes('INBOX', cursor);
    assert.equal(again.kind, 'snapshot');
    assert.deepEqual(snapshotOf(again).map((m) => m.id), [...first.map((m) => m.id), b.id]);
    assert.equal(first[0]!.id, a.id);
    // Every folder of the session takes the snapshot path without asking history again.
    const calls = apiCalls('history.list');
    assert.equal((await session.changes(ALL_MAIL, cursor)).kind, 'snapshot');
    assert.equal(apiCalls('history.list'), calls);
  });

  it('writes back flags, moves, copies, expunges and appends as Gmail label operations, idempotently', async () => {
    mb().labels.create({ name: 'Archive', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const archive = mb().labels.byName('Archive')!.id;
    const m = fx.emu.state.deliver(GMAIL_USER, mime());
    const labels = (): string[] => [...mb().get(m.id).labelIds].sort();

    await session.apply({ kind: 'flags', folderId: 'INBOX', id: m.id, add: ['\\Seen', '\\Flagged', '$Work'], remove: [] });
    assert.deepEqual(labels(), ['INBOX', 'STARRED']);
    await session.apply({ kind: 'flags', folderId: 'INBOX', id: m.id, add: ['\\Seen', '\\Flagged'], remove: [] });
    assert.deepEqual(labels(), ['INBOX', 'STARRED']);
    await session.apply({ kind: 'flags', folderId: 'INBOX', id: m.id, add: [], remove: ['\\Seen'] });
    assert.deepEqual(labels(), ['INBOX', 'STARRED', 'UNREAD']);

    assert.deepEqual(await session.apply({ kind: 'move', fromFolderId: 'INBOX', toFolderId: archive, id: m.id }), { id: m.id });
    assert.deepEqual(labels(), [archive, 'STARRED', 'UNREAD'].sort());
    await session.apply({ kind: 'move', fromFolderId: 'INBOX', toFolderId: archive, id: m.id });
    assert.deepEqual(labels(), [archive, 'STARRED', 'UNREAD'].sort(), 'a replayed move changes nothing');
    assert.ok(mb().has(m.id), 'the Gmail id stays');

    assert.deepEqual(await session.apply({ kind: 'copy', fromFolderId: archive, toFolderId: 'INBOX', id: m.id }), { id: m.id });
    assert.deepEqual(labels(), [archive, 'INBOX', 'STARRED', 'UNREAD'].sort());

    // EXPUNGE in a label folder removes that label only.
    await session.apply({ kind: 'expunge', folderId: archive, id: m.id });
    assert.deepEqual(labels(), ['INBOX', 'STARRED', 'UNREAD']);
    // In All Mail it goes to the trash; in Trash it is deleted; replays are harmless.
    await session.apply({ kind: 'expunge', folderId: ALL_MAIL, id: m.id });
    assert.ok(mb().get(m.id).labelIds.includes('TRASH'));
    await session.apply({ kind: 'expunge', folderId: 'TRASH', id: m.id });
    assert.equal(mb().has(m.id), false);
    await session.apply({ kind: 'expunge', folderId: 'TRASH', id: m.id });
    await session.apply({ kind: 'flags', folderId: 'INBOX', id: 'deadbeef', add: ['\\Seen'], remove: [] }).then(
      () => assert.fail('a flag change on a message Gmail does not have should fail as gone'),
      (err: { kind?: string }) => assert.equal(err.kind, 'gone'),
    );

    // APPEND: insert with the folder's label and flags; a retry finds it by Message-ID.
    const raw = mime({ messageId: '<appended-1@example.org>' });
    const r1 = (await session.apply({ kind: 'append', folderId: archive, raw, flags: ['\\Seen'] })) as { id: string };
    const r2 = (await session.apply({ kind: 'append', folderId: archive, raw, flags: ['\\Seen'], retry: true })) as { id: string };
    assert.equal(r1.id, r2.id);
    assert.deepEqual(mb().get(r1.id).labelIds, [archive]);
    assert.deepEqual(mb().get(r1.id).raw, raw);
    assert.equal(mb().all().length, 1);
    assert.ok(fx.emu.state.requests.some((r) => r.methodId === 'gmail.users.messages.insert'));
  });

  it('creates, renames (with nested labels) and deletes folders as labels', async () => {
    const create = async (name: string, parentId: string | null): Promise<string> => {
      const r = await session.apply({ kind: 'createFolder', name, parentId });
      return (r as { folderId: string }).folderId;
    };
    const id = await create('Projects', null);
    assert.equal(await create('Projects', null), id, 'an existing label is reused');
    const child = await create('2024', id);
    assert.equal(mb().labels.get(child)?.name, 'Projects/2024');
    await assert.rejects(create('a/b', null), /cannot contain/);
    await session.apply({ kind: 'renameFolder', folderId: id, name: 'Work', parentId: null });
    assert.equal(mb().labels.get(id)?.name, 'Work');
    assert.equal(mb().labels.get(child)?.name, 'Work/2024');
    await session.apply({ kind: 'renameFolder', folderId: child, name: '2025', parentId: null });
    assert.equal(mb().labels.get(child)?.name, '2025');
    await assert.rejects(session.apply({ kind: 'renameFolder', folderId: 'INBOX', name: 'x', parentId: null }), /cannot be renamed/);
    const m = fx.emu.state.deliver(GMAIL_USER, mime(), ['INBOX', id]);
    await session.apply({ kind: 'deleteFolder', folderId: id });
    await session.apply({ kind: 'deleteFolder', folderId: id });
    assert.equal(mb().labels.get(id), undefined);
    assert.deepEqual(mb().get(m.id).labelIds, ['INBOX']);
  });

  it('sends raw through messages.send; Gmail files the Sent copy itself', async () => {
    const id = await session.send(mime({ subject: 'out' }));
    assert.deepEqual(mb().get(id).labelIds, ['SENT']);
    assert.equal(mb().all().length, 1);
  });

  it('walks long history in pages (more: true), each page fetched once for all folders', async () => {
    await fx.emu.stop();
    fx = await gmailFixture({ settings: { historyPageSize: 3 } });
    session = await fx.adapter.connect();
    const cursor = String(mb().history.current());
    const ids = Array.from({ length: 7 }, () => fx.emu.state.deliver(GMAIL_USER, mime()).id);
    const seen: Record<string, string[]> = { INBOX: [], [ALL_MAIL]: [] };
    let pages = 0;
    for (const folder of ['INBOX', ALL_MAIL]) {
      let c = cursor;
      for (;;) {
        const d = await session.changes(folder, c);
        assert.equal(d.kind, 'delta');
        if (d.kind !== 'delta') break;
        for (const ch of d.changes) if (ch.kind === 'created') seen[folder]!.push(ch.message.id);
        c = d.cursor;
        if (folder === 'INBOX') pages++;
        if (!d.more) break;
      }
      assert.equal(c, String(mb().history.current()));
    }
    assert.deepEqual(seen.INBOX, ids);
    assert.deepEqual(seen[ALL_MAIL], ids);
    assert.equal(pages, 3);
    assert.equal(apiCalls('history.list'), 3, 'All Mail read the pages INBOX had fetched');
  });

  it('push: users.watch on the configured topic, and a Pub/Sub delivery for this address triggers a sync', async () => {
    await fx.emu.stop();
    const received: Buffer[] = [];
    const sink = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/push/gmail?token=s3cret`;
      const topicName = 'projects/memgate-test/topics/gmail';
      fx = await gmailFixture({ emulator: { push: [{ topicName, subscription: 'projects/memgate-test/subscriptions/gw', endpoint }] }, settings: { pubsubTopic: topicName } });
      session = await fx.adapter.connect();
      assert.equal(fx.adapter.capabilities.push, true);
      const sub = await fx.adapter.subscribe({ url: endpoint, secret: 's3cret' });
      assert.equal(sub.id, GMAIL_USER);
      assert.ok(sub.expiresAt.getTime() > Date.now());
      fx.emu.state.deliver(GMAIL_USER, mime());
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(received.length > 0, 'the emulator pushed');
      assert.deepEqual(fx.adapter.parsePush(received[0]!, sub), { folderIds: [] });
      assert.equal(fx.adapter.parsePush(received[0]!, { ...sub, id: 'someone@else.example' }), null);
      assert.equal(fx.adapter.parsePush(Buffer.from('not json'), sub), null);
      await fx.adapter.renew(sub, { url: endpoint, secret: 's3cret' });
    } finally {
      await new Promise((r) => sink.close(r));
    }
  });

  it('plans folder deltas from history records without message labels too, and decodes pushes', () => {
    const plan = planFolderDelta('L1', [
      { id: '5', labelsAdded: [{ message: { id: 'm1' }, labelIds: ['L1'] }] },
      { id: '6', labelsRemoved: [{ message: { id: 'm2' }, labelIds: ['L1'] }] },
      { id: '7', messagesAdded: [{ message: { id: 'm3', labelIds: ['L1', 'UNREAD'] } }] },
      { id: '8', labelsRemoved: [{ message: { id: 'm3', labelIds: ['L1'] }, labelIds: ['UNREAD'] }] },
    ]);
    assert.deepEqual(plan, [
      { kind: 'created', id: 'm1', labelIds: [] },
      { kind: 'deleted', id: 'm2' },
      { kind: 'created', id: 'm3', labelIds: ['L1'] },
    ]);
    const push = (inner: unknown): unknown => ({ message: { data: Buffer.from(JSON.stringify(inner)).toString('base64'), messageId: '1' }, subscription: 's' });
    assert.deepEqual(decodePush(push({ emailAddress: 'a@b', historyId: 1234 })), { emailAddress: 'a@b', historyId: '1234' });
    assert.deepEqual(decodePush(push({ emailAddress: 'a@b', historyId: '1234' })), { emailAddress: 'a@b', historyId: '1234' });
    assert.equal(decodePush(push({ emailAddress: 'a@b' })), null);
    assert.equal(decodePush({}), null);
  });
});
