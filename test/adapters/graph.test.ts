// The Graph adapter end to end (issue 4): the emulator's mailbox behind a memgate, seen by
// imapflow. Mail created in the emulator reaches an IDLE-ing client within the poll
// interval; folders mirror with SPECIAL-USE; bodies are the backend's first copy; a poll's
// deltas go in one $batch.
import assert from 'node:assert/strict';
import { mime } from '../emulators/graph/helpers';
import { eventually } from '../sync/helpers';
import { graphHarnessForSuite, graphUser, imap, onePoll, shadow } from './graph-helpers';

describe('Graph adapter through IMAP', function () {
  this.timeout(60000);
  const h = graphHarnessForSuite();

  it('mirrors folders (special-use from well-known names) and messages, bodies as first served', async () => {
    const u = await graphUser(h, {}, (mb) => {
      h.emu.state.deliver(mb, mime('first', { multipart: true }));
      h.emu.state.deliver(mb, mime('second'), { isRead: true });
      const projects = h.emu.state.createFolder(mb, mb.rootFolderId, 'Projects');
      h.emu.state.createFolder(mb, projects.id, 'Alpha');
      h.emu.state.deliver(mb, mime('in alpha'), { folder: [...mb.folders.values()].find((f) => f.displayName === 'Alpha')!.id });
    });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 2 && (await shadow(h, u, 'Projects/Alpha')).length === 1, 20000, 'first sync');
    const client = await imap(h, u);
    try {
      const list = await client.list();
      const names = list.map((m) => m.path).sort();
      for (const want of ['INBOX', 'Projects', 'Projects/Alpha', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']) assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
      assert.ok(!names.includes('Outbox') && !names.includes('Conversation History'), 'plumbing folders hidden');
      assert.equal(list.find((m) => m.path === 'Sent')?.specialUse, '\\Sent');
      assert.equal(list.find((m) => m.path === 'Trash')?.specialUse, '\\Trash');

      const lock = await client.getMailboxLock('INBOX');
      try {
        const msgs = [];
        for await (const m of client.fetch('1:*', { uid: true, flags: true, envelope: true, source: true, size: true })) msgs.push(m);
        assert.deepEqual(msgs.map((m) => m.envelope?.subject), ['first', 'second']);
        assert.ok(!msgs[0].flags?.has('\\Seen'));
        assert.ok(msgs[1].flags?.has('\\Seen'));
        // The size the client saw is the size of the bytes it gets (invariant 3).
        for (const m of msgs) assert.equal(m.size, m.source?.length);
        // Exchange re-renders multipart MIME on each $value fetch: the first copy stays.
        const again = [];
        for await (const m of client.fetch('1', { source: true })) again.push(m.source!.toString('latin1'));
        assert.equal(again[0], msgs[0].source!.toString('latin1'));
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });

  it('a poll asks every folder for its changes in one $batch round trip', async () => {
    const u = await graphUser(h, {}, (mb) => {
      for (const name of ['One', 'Two', 'Three']) h.emu.state.createFolder(mb, mb.rootFolderId, name);
    });
    await eventually(async () => (await h.server.sync.account(u.accountId))?.state === 'idle', 20000, 'first sync');
    const mine = (r: { path: string }): boolean => r.path.includes(encodeURIComponent(u.address));
    const from = h.emu.requests.length;
    await onePoll(h, u);
    const during = h.emu.requests.slice(from);
    assert.equal(during.filter((r) => mine(r) && r.path.endsWith('/messages/delta')).length, 0, 'no delta asked on its own');
    assert.ok(during.some((r) => r.path === '/v1.0/$batch'), 'the deltas went in a batch');
    // Changes still arrive that way.
    const two = [...u.mailbox.folders.values()].find((f) => f.displayName === 'Two')!;
    h.emu.state.deliver(u.mailbox, mime('in two'), { folder: two.id });
    await eventually(async () => (await shadow(h, u, 'Two')).length === 1, 20000, 'arrived in Two');
  });

  it('new mail in the emulator reaches an IDLE-ing client within the poll interval', async () => {
    const u = await graphUser(h);
    await eventually(async () => (await h.server.sync.account(u.accountId))?.state === 'idle', 20000, 'first sync');
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      const arrived = new Promise<number>((resolve) => client.on('exists', (e: { count: number }) => resolve(e.count)));
      void client.idle();
      h.emu.state.deliver(u.mailbox, mime('pushed'));
      assert.equal(await arrived, 1);
      const [m] = await shadow(h, u, 'INBOX');
      assert.equal(m.backendId, [...u.mailbox.messages.values()][0].immutableId, 'keyed by the immutable id');
    } finally {
      await client.logout();
    }
  });
});
