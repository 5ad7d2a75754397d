// Gmail user labels with "/" are a hierarchy. A level that is no label of its own ("Clients"
// of "Clients/Acme/2024") is a \Noselect mailbox, as Gmail's own IMAP shows such levels:
// imapflow's LIST and tree show it as a disabled parent, it cannot be selected or take
// messages (a clear NO, nothing lost), a client can create a mailbox under it (a label
// "Clients/Gamma" at Gmail), and when Gmail gets a label of that name the same mailbox
// becomes selectable.
import assert from 'node:assert/strict';
import type { ImapFlow, ListResponse } from 'imapflow';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { RawClient } from '../support/raw-client';
import { GMAIL_USER, mime } from '../support/gmail';
import { addGmailUser, imapLogin, messageCount } from './gmail-helpers';
import { eventually, startSyncServer, type SyncServer } from './helpers';

const label = { labelListVisibility: 'labelShow', messageListVisibility: 'show' } as const;

describe('Gmail label hierarchy through IMAP (imapflow)', function () {
  this.timeout(60000);
  let emu: GmailEmulator;
  let server: SyncServer;
  let client: ImapFlow;

  before(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER] });
    const mb = emu.state.mailbox(GMAIL_USER);
    mb.labels.create({ name: 'Clients/Acme/2024', ...label });
    mb.labels.create({ name: 'Clients/Beta', ...label });
    mb.labels.create({ name: 'Work', ...label });
    mb.labels.create({ name: 'Work/Projects', ...label });
    emu.state.deliver(GMAIL_USER, mime({ subject: 'acme invoice' }), ['INBOX', mb.labels.byName('Clients/Acme/2024')!.id]);
    server = await startSyncServer();
    await addGmailUser(server, emu);
    client = await imapLogin(server);
    await eventually(async () => (await messageCount(client, 'Clients/Acme/2024')) === 1, 20000, 'the nested label mirrored with its message');
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await server?.stop();
    await emu?.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  const byPath = async (): Promise<Map<string, ListResponse>> => new Map((await client.list()).map((m) => [m.path, m]));

  it('levels without a label are \\Noselect parents; labels are selectable', async () => {
    const list = await byPath();
    for (const level of ['Clients', 'Clients/Acme']) {
      const m = list.get(level);
      assert.ok(m, `${level} listed`);
      assert.ok(m.flags.has('\\Noselect'), `${level} is \\Noselect`);
      assert.ok(m.flags.has('\\HasChildren'), `${level} has children`);
    }
    for (const box of ['Clients/Acme/2024', 'Clients/Beta', 'Work', 'Work/Projects']) assert.ok(!list.get(box)?.flags.has('\\Noselect'), `${box} is selectable`);
    const tree = await client.listTree();
    const clients = tree.folders?.find((f) => f.path === 'Clients');
    assert.equal(clients?.disabled, true, 'imapflow shows the level as a disabled parent');
    assert.deepEqual(clients?.folders?.map((f) => f.path).sort(), ['Clients/Acme', 'Clients/Beta']);

    const lock = await client.getMailboxLock('Clients/Acme/2024');
    try {
      const m = await client.fetchOne('1', { envelope: true });
      assert.equal(m && m.envelope?.subject, 'acme invoice');
    } finally {
      lock.release();
    }
  });

  it('a level takes no messages and answers why; nothing reaches Gmail', async () => {
    const raw = await RawClient.connect(server.port);
    try {
      assert.match(await raw.command('a1', 'LOGIN alice imap-pass'), /^a1 OK/m);
      assert.match(await raw.command('a2', 'LIST "" "Clients*"'), /^\* LIST \(\\Noselect \\HasChildren\) "\/" Clients\r$/m);
      assert.match(await raw.command('a3', 'LIST "" "Clients/%" RETURN (STATUS (MESSAGES))'), /^\* LIST \(\\Noselect \\HasChildren\) "\/" Clients\/Acme\r\n(?!\* STATUS Clients\/Acme )/m);
      assert.match(await raw.command('a4', 'STATUS Clients (MESSAGES)'), /^a4 NO \[CANNOT\] Clients is not selectable: it only holds other mailboxes/m);
      assert.match(await raw.command('a4s', 'SELECT Clients/Acme'), /^a4s NO \[CANNOT\] Clients\/Acme is not selectable/m);
      assert.match(await raw.command('a4e', 'EXAMINE Clients'), /^a4e NO \[CANNOT\]/m);
      assert.match(await raw.command('a5', 'APPEND Clients {10+}\r\nSubject: x'), /^a5 NO \[CANNOT\]/m);
      assert.match(await raw.command('a6', 'SELECT INBOX'), /^a6 OK/m);
      assert.match(await raw.command('a7', 'COPY 1 Clients/Acme'), /^a7 NO \[CANNOT\]/m);
      assert.match(await raw.command('a8', 'MOVE 1 Clients/Acme'), /^a8 NO \[CANNOT\]/m);
      assert.match(await raw.command('a9', 'DELETE Clients'), /^a9 NO \[CANNOT\] Clients holds other mailboxes/m);
    } finally {
      raw.close();
    }
    assert.equal(emu.state.mailbox(GMAIL_USER).all().length, 1);
    assert.deepEqual(emu.state.mailbox(GMAIL_USER).get(emu.state.mailbox(GMAIL_USER).all()[0]!.id).labelIds.filter((l) => l.startsWith('Label_')).length, 1);
  });

  it('a mailbox created under a level becomes a nested label; a label made for the level makes it selectable', async () => {
    await client.mailboxCreate('Clients/Gamma');
    const mb = emu.state.mailbox(GMAIL_USER);
    await eventually(() => mb.labels.byName('Clients/Gamma'), 20000, 'the label Clients/Gamma at Gmail');
    assert.equal(mb.labels.byName('Clients'), undefined, 'no label made for the level');

    mb.labels.create({ name: 'Clients', ...label });
    await eventually(async () => {
      const m = (await byPath()).get('Clients');
      return m && !m.flags.has('\\Noselect');
    }, 20000, 'Clients selectable');
    const list = await byPath();
    assert.ok(list.get('Clients/Acme')?.flags.has('\\Noselect'), 'the level below is still one');
    assert.ok(list.has('Clients/Acme/2024') && list.has('Clients/Gamma'));
    const status = await client.status('Clients', { messages: true });
    assert.ok(status && status.messages === 0);
  });
});
