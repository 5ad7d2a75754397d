// Gmail end to end: the Gmail API emulator behind a whole memgate (sync engine, shadow
// store, IMAP server), seen through imapflow. Arrivals reach an IDLE-ing client, labels are
// mailboxes, client flags and moves become label changes at Gmail, an expired history id
// resyncs without touching UIDs, 429s slow the sync without losing anything, and a restart
// duplicates nothing.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { gmailAccountCredentials, gmailAccountSettings, GMAIL_USER, mime } from '../support/gmail';
import { eventually, startSyncServer, type SyncServer } from './helpers';

function imap(port: number): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'imap-pass' }, logger: false });
}

async function uidsBySubject(client: ImapFlow, mailbox: string): Promise<Map<string, number>> {
  const lock = await client.getMailboxLock(mailbox);
  try {
    const out = new Map<string, number>();
    if ((client.mailbox && typeof client.mailbox === 'object' ? client.mailbox.exists : 0) === 0) return out;
    for await (const m of client.fetch('1:*', { uid: true, envelope: true })) out.set(m.envelope?.subject ?? '', m.uid);
    return out;
  } finally {
    lock.release();
  }
}

async function count(client: ImapFlow, mailbox: string): Promise<number> {
  const status = await client.status(mailbox, { messages: true }).catch(() => false as const);
  return status ? (status.messages ?? 0) : -1;
}

describe('Gmail backend end to end (emulator)', function () {
  this.timeout(60000);
  let emu: GmailEmulator;
  let server: SyncServer | null = null;
  const clients: ImapFlow[] = [];

  const mb = (): ReturnType<GmailEmulator['state']['mailbox']> => emu.state.mailbox(GMAIL_USER);

  async function start(extra: Record<string, unknown> = {}, reuse?: SyncServer): Promise<SyncServer> {
    const s = await startSyncServer(reuse ? { databaseUrl: reuse.databaseUrl, dataDir: reuse.dataDir } : {});
    if (!reuse) {
      await s.memgate.store.createUser('alice', 'imap-pass');
      const key = loadMasterKey(s.dataDir).key;
      await s.sync.addAccount({
        userName: 'alice',
        kind: 'gmail',
        label: null,
        settings: gmailAccountSettings(emu, { pollIntervalSeconds: 1, ...extra }),
        credentials: encryptCredentials(key, gmailAccountCredentials(emu)),
      });
    }
    return s;
  }

  async function client(port: number): Promise<ImapFlow> {
    const c = imap(port);
    clients.push(c);
    await c.connect();
    return c;
  }

  beforeEach(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
    await server?.stop();
    server = null;
    await emu.stop();
    assert.deepEqual(emu.state.violations, [], 'requests or answers the discovery document does not allow');
  });

  it('shows labels as mailboxes, pushes an arrival to IDLE, follows labels added at Gmail, writes \\Seen and MOVE back as label changes', async () => {
    mb().labels.create({ name: 'Archive', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const archive = mb().labels.byName('Archive')!.id;
    const first = emu.state.deliver(GMAIL_USER, mime({ subject: 'first' }));
    server = await start();
    const c = await client(server.port);
    await eventually(async () => (await count(c, 'INBOX')) === 1, 15000, 'the first message in INBOX');
    const list = await c.list();
    const special = new Map(list.map((m) => [m.path, m.specialUse]));
    assert.equal(special.get('Sent'), '\\Sent');
    assert.equal(special.get('Trash'), '\\Trash');
    assert.equal(special.get('Junk'), '\\Junk');
    assert.equal(special.get('All Mail'), '\\All');
    assert.ok(special.has('Archive'));
    assert.ok(!list.some((m) => /CATEGORY|IMPORTANT/i.test(m.path)));

    // An arrival reaches a client that IDLEs in INBOX (within the 1 s poll interval; no watch here).
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    void c.idle().catch(() => undefined);
    const second = emu.state.deliver(GMAIL_USER, mime({ subject: 'second' }));
    assert.equal(await exists, 2);
    const fetched = await c.fetchOne('2', { source: true, envelope: true });
    assert.ok(fetched);
    assert.deepEqual(fetched.source, second.raw);

    // A label added at Gmail: the message appears in that mailbox too.
    mb().modify(first.id, [archive], []);
    const other = await client(server.port);
    await eventually(async () => (await count(other, 'Archive')) === 1, 15000, 'first in Archive');

    // \Seen from the client removes UNREAD at Gmail.
    await c.messageFlagsAdd('1', ['\\Seen']);
    await eventually(() => !mb().get(first.id).labelIds.includes('UNREAD'), 15000, 'UNREAD removed at Gmail');

    // MOVE INBOX -> Archive: the labels change, the Gmail id stays, nothing is copied.
    await c.messageMove('2', 'Archive');
    await eventually(() => mb().get(second.id).labelIds.includes(archive) && !mb().get(second.id).labelIds.includes('INBOX'), 15000, 'second relabelled');
    assert.equal(mb().all().length, 2);
    await eventually(async () => (await count(other, 'Archive')) === 2, 15000, 'two in Archive');
    await eventually(async () => (await count(other, 'INBOX')) === 1, 15000, 'one left in INBOX');
  });

  it('resyncs after a history 404 with every UID unchanged, and a restart duplicates nothing', async () => {
    for (let i = 0; i < 3; i++) emu.state.deliver(GMAIL_USER, mime({ subject: `m${i}` }));
    server = await start();
    let c = await client(server.port);
    await eventually(async () => (await count(c, 'INBOX')) === 3, 15000, 'three messages');
    const before = await uidsBySubject(c, 'INBOX');
    const allBefore = await uidsBySubject(c, 'All Mail');

    emu.state.expireHistory(GMAIL_USER);
    emu.state.deliver(GMAIL_USER, mime({ subject: 'after-404' }));
    await eventually(async () => (await count(c, 'INBOX')) === 4, 15000, 'the message after the 404');
    const after = await uidsBySubject(c, 'INBOX');
    for (const [subject, uid] of before) assert.equal(after.get(subject), uid, `${subject} kept its UID`);
    assert.ok(after.get('after-404')! > Math.max(...before.values()));

    // Restart: the same database, a message that arrived meanwhile, nothing doubled.
    for (const x of clients.splice(0)) await x.logout().catch(() => undefined);
    const old = server;
    await old.stop();
    emu.state.deliver(GMAIL_USER, mime({ subject: 'while-down' }));
    server = await start({}, old);
    c = await client(server.port);
    await eventually(async () => (await count(c, 'INBOX')) === 5, 15000, 'the message that came while down');
    const restarted = await uidsBySubject(c, 'INBOX');
    assert.equal(restarted.size, 5);
    for (const [subject, uid] of after) assert.equal(restarted.get(subject), uid, `${subject} kept its UID across the restart`);
    const allAfter = await uidsBySubject(c, 'All Mail');
    for (const [subject, uid] of allBefore) assert.equal(allAfter.get(subject), uid);
    assert.equal(allAfter.size, 5);
  });

  it('is slowed by 429s and 500s but loses nothing', async () => {
    for (let i = 0; i < 12; i++) emu.state.deliver(GMAIL_USER, mime({ subject: `q${i}` }));
    emu.faults.inject({ method: 'messages.get', times: 6, fault: { kind: 'status', status: 429, reason: 'userRateLimitExceeded' } });
    emu.faults.inject({ method: 'messages.list', times: 2, fault: { kind: 'status', status: 429, reason: 'rateLimitExceeded' } });
    emu.faults.inject({ method: 'history.list', times: 2, fault: { kind: 'status', status: 500 } });
    server = await start({ maxAttempts: 3 });
    const c = await client(server.port);
    await eventually(async () => (await count(c, 'INBOX')) === 12, 30000, 'all twelve messages');
    emu.state.deliver(GMAIL_USER, mime({ subject: 'later' }));
    await eventually(async () => (await count(c, 'INBOX')) === 13, 30000, 'the later one');
    const subjects = await uidsBySubject(c, 'INBOX');
    assert.equal(subjects.size, 13);
    assert.ok(emu.state.requests.some((r) => r.status === 429));
  });
});
