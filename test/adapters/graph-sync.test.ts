// Graph write-back and faults end to end (issue 4), through imapflow against the emulator:
// client \Seen -> isRead; client MOVE -> the message changes folder at the backend with its
// immutable id kept and no echo; folders renamed on either side; 410 -> full resync with
// every UID unchanged; a 429 storm -> no lost, duplicated or reordered change; a restart ->
// no duplicate.
import assert from 'node:assert/strict';
import { mime } from '../emulators/graph/helpers';
import { eventually, startSyncServer } from '../sync/helpers';
import { accountIdle, graphHarnessForSuite, graphUser, imap, onePoll, queued, shadow, type GraphUser } from './graph-helpers';

describe('Graph write-back and faults', function () {
  this.timeout(90000);
  const h = graphHarnessForSuite();
  afterEach(() => h.emu.faults.clear());

  const idle = (u: GraphUser): Promise<void> => accountIdle(h, u);
  const polled = (u: GraphUser): Promise<void> => onePoll(h, u);
  const modseqs = async (u: GraphUser): Promise<Map<string, string>> => {
    const rows = (await h.server.memgate.database.dataSource.query('SELECT name, highest_modseq FROM mailboxes WHERE user_id = $1', [u.userId])) as Array<{ name: string; highest_modseq: string }>;
    return new Map(rows.map((r) => [r.name, r.highest_modseq]));
  };

  it('client \\Seen, \\Flagged and a keyword reach the backend; the echo changes nothing', async () => {
    const u = await graphUser(h, {}, (mb) => h.emu.state.deliver(mb, mime('to read')));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 1, 20000, 'synced');
    await idle(u);
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd('1', ['\\Seen', '\\Flagged', 'Project', '$Forwarded']);
    } finally {
      await client.logout();
    }
    const msg = [...u.mailbox.messages.values()][0];
    await eventually(() => msg.isRead && msg.flag.flagStatus === 'flagged' && msg.categories.includes('Project'), 20000, 'isRead at the backend');
    assert.ok(!msg.categories.includes('$Forwarded'), '$Forwarded stays in the gateway');
    await idle(u);
    const before = await modseqs(u);
    await polled(u);
    await polled(u);
    assert.deepEqual(await modseqs(u), before, 'the backend reporting our own change is no change');
    const [row] = await shadow(h, u, 'INBOX');
    assert.deepEqual(new Set(row.flags), new Set(['\\Seen', '\\Flagged', 'Project', '$Forwarded']));
    // A change made at the backend comes back: unread there, unread here; $Forwarded kept.
    h.emu.state.update(u.mailbox, msg, (m) => {
      m.isRead = false;
    });
    await eventually(async () => !(await shadow(h, u, 'INBOX'))[0].flags.includes('\\Seen'), 20000, 'unread from the backend');
    assert.ok((await shadow(h, u, 'INBOX'))[0].flags.includes('$Forwarded'));
  });

  it('client MOVE moves the message at the backend, immutable id kept, body not fetched again', async () => {
    const u = await graphUser(h, {}, (mb) => {
      h.emu.state.deliver(mb, mime('mover'));
      h.emu.state.deliver(mb, mime('stayer'));
    });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 2, 20000, 'synced');
    await idle(u);
    const mover = [...u.mailbox.messages.values()].find((m) => m.summary.subject === 'mover')!;
    const contentOf = async (): Promise<string> => {
      const rows = (await h.server.memgate.database.dataSource.query('SELECT content_id FROM backend_messages WHERE account_id = $1 AND backend_id = $2', [u.accountId, mover.immutableId])) as Array<{ content_id: string }>;
      return rows[0]?.content_id;
    };
    const contentBefore = await contentOf();
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      const moved = await client.messageMove('1', 'Archive');
      assert.ok(moved);
    } finally {
      await client.logout();
    }
    const archive = u.mailbox.wellKnown('archive');
    await eventually(() => u.mailbox.messages.get(mover.immutableId)?.folderId === archive.id, 20000, 'moved at the backend');
    assert.equal(u.mailbox.messages.size, 2, 'a move, not a copy');
    await idle(u);
    await polled(u);
    const arch = await shadow(h, u, 'Archive');
    assert.equal(arch.length, 1);
    assert.equal(arch[0].backendId, mover.immutableId);
    assert.deepEqual((await shadow(h, u, 'INBOX')).map((r) => r.uid), [2]);
    assert.equal(await contentOf(), contentBefore, 'the content (and its cached body) moved with the message');
  });

  it('client CREATE, APPEND and RENAME of a folder reach the backend', async () => {
    const u = await graphUser(h);
    await idle(u);
    const client = await imap(h, u);
    try {
      await client.mailboxCreate('Clients');
      await client.append('Clients', mime('appended').replace(/\r?\n/g, '\r\n'), ['\\Seen']);
      await eventually(() => [...u.mailbox.folders.values()].some((f) => f.displayName === 'Clients'), 20000, 'folder at the backend');
      const folder = [...u.mailbox.folders.values()].find((f) => f.displayName === 'Clients')!;
      await eventually(() => u.mailbox.inFolder(folder.id).length === 1, 20000, 'append at the backend');
      assert.equal(u.mailbox.inFolder(folder.id)[0].isRead, true);
      await idle(u);
      await client.mailboxRename('Clients', 'Customers');
      await eventually(() => folder.displayName === 'Customers', 20000, 'renamed at the backend');
      await idle(u);
      await polled(u);
      const rows = await shadow(h, u, 'Customers');
      assert.equal(rows.length, 1, 'the appended message is not doubled by its echo');
      assert.equal(rows[0].backendId, u.mailbox.inFolder(folder.id)[0].immutableId);
    } finally {
      await client.logout();
    }
  });

  it('a folder renamed in the emulator is renamed for the client, UIDs kept', async () => {
    const u = await graphUser(h, {}, (mb) => {
      const f = h.emu.state.createFolder(mb, mb.rootFolderId, 'Reports');
      h.emu.state.deliver(mb, mime('q1'), { folder: f.id });
    });
    await eventually(async () => (await shadow(h, u, 'Reports')).length === 1, 20000, 'synced');
    const before = await shadow(h, u, 'Reports');
    const folder = [...u.mailbox.folders.values()].find((f) => f.displayName === 'Reports')!;
    h.emu.state.renameFolder(u.mailbox, folder, 'Quarterly Reports');
    await eventually(async () => (await shadow(h, u, 'Quarterly Reports')).length === 1, 20000, 'renamed');
    assert.deepEqual(await shadow(h, u, 'Quarterly Reports'), before);
    const client = await imap(h, u);
    try {
      const names = (await client.list()).map((m) => m.path);
      assert.ok(names.includes('Quarterly Reports') && !names.includes('Reports'));
    } finally {
      await client.logout();
    }
  });

  it('410 syncStateNotFound: full resync, every UID unchanged, changes made meanwhile applied', async () => {
    const u = await graphUser(h, {}, (mb) => {
      for (let i = 0; i < 12; i++) h.emu.state.deliver(mb, mime(`m${i}`));
    });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 12, 20000, 'synced');
    await idle(u);
    const before = await shadow(h, u, 'INBOX');
    const msgs = [...u.mailbox.messages.values()];
    h.emu.state.invalidateDeltaTokens(u.mailbox);
    h.emu.state.update(u.mailbox, msgs[3], (m) => {
      m.isRead = true;
    });
    h.emu.state.remove(u.mailbox, msgs[5]);
    h.emu.state.deliver(u.mailbox, mime('after the loss'));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 12 && (await shadow(h, u, 'INBOX')).some((r) => r.uid === 13), 20000, 'resynced');
    const after = await shadow(h, u, 'INBOX');
    const gone = before.find((r) => r.backendId === msgs[5].immutableId)!;
    for (const r of before) {
      if (r === gone) continue;
      const now = after.find((a) => a.backendId === r.backendId);
      assert.equal(now?.uid, r.uid, `UID of ${r.backendId} kept`);
    }
    assert.ok(after.find((a) => a.backendId === msgs[3].immutableId)!.flags.includes('\\Seen'));
    assert.ok(!after.some((a) => a.uid === gone.uid));
    assert.ok(h.emu.requests.some((r) => r.path.endsWith('/messages/delta') && r.status === 410), 'the token really was refused');
  });

  it('a 429 storm: nothing lost, duplicated or reordered', async () => {
    const u = await graphUser(h);
    await idle(u);
    h.emu.faults.throttle(1, { times: 25 });
    for (let i = 0; i < 15; i++) h.emu.state.deliver(u.mailbox, mime(`storm ${i}`));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length >= 15 && h.emu.faults.pending() === 0, 40000, 'all arrived');
    await idle(u);
    await polled(u);
    const rows = await shadow(h, u, 'INBOX');
    assert.equal(rows.length, 15, 'no duplicate');
    const order = [...u.mailbox.messages.values()].sort((a, b) => a.ordinal - b.ordinal).map((m) => m.immutableId);
    assert.deepEqual(new Set(rows.map((r) => r.backendId)), new Set(order), 'none lost');
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      const subjects: string[] = [];
      for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope!.subject!);
      const expected = [...u.mailbox.messages.values()].sort((a, b) => a.ordinal - b.ordinal).map((m) => m.summary.subject);
      assert.deepEqual([...subjects].sort(), [...expected].sort());
    } finally {
      await client.logout();
    }
    // Client changes during a storm are written back once, in order.
    h.emu.faults.throttle(1, { times: 10 });
    const client2 = await imap(h, u);
    try {
      await client2.mailboxOpen('INBOX');
      await client2.messageFlagsAdd('1:5', ['\\Seen']);
      await client2.messageFlagsRemove('3', ['\\Seen']);
    } finally {
      await client2.logout();
    }
    await idle(u);
    const byId = new Map(rows.map((r) => [r.backendId, r.uid]));
    const read = [...u.mailbox.messages.values()].filter((m) => m.isRead).map((m) => byId.get(m.immutableId)).sort((a, b) => a! - b!);
    assert.deepEqual(read, [1, 2, 4, 5]);
  });

  it('a restart: no duplicate, no UID change, queued changes survive', async () => {
    const u = await graphUser(h, {}, (mb) => {
      for (let i = 0; i < 5; i++) h.emu.state.deliver(mb, mime(`r${i}`));
    });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 5, 20000, 'synced');
    await idle(u);
    const before = await shadow(h, u, 'INBOX');
    // The backend fails while a client change is made; the gateway stops before writing it back.
    h.emu.faults.unavailable(1, { times: 1000 });
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd('2', ['\\Seen']);
    } finally {
      await client.logout();
    }
    assert.equal(await queued(h, u), 1);
    const { databaseUrl, dataDir } = h.server;
    await h.server.stop();
    h.emu.faults.clear();
    h.emu.state.deliver(u.mailbox, mime('while down'));
    h.server = await startSyncServer({ databaseUrl, dataDir });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 6, 20000, 'new mail after restart');
    await idle(u);
    const after = await shadow(h, u, 'INBOX');
    assert.deepEqual(after.slice(0, 5).map((r) => [r.uid, r.backendId]), before.map((r) => [r.uid, r.backendId]));
    assert.equal(after[5].uid, 6);
    const second = u.mailbox.messages.get(before[1].backendId!)!;
    assert.equal(second.isRead, true, 'the queued change was written back after the restart');
  });
});
