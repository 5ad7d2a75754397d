// Gmail accounts under quota pressure, end to end through imapflow: one user's first sync
// waiting on its own small budget never holds another user's sync (nor its new mail), and
// nothing the waiting user has is lost or refused; a client change that Gmail refused while
// memgate was stopped reaches Gmail after a restart, once, with no message doubled and no
// UID changed.
import assert from 'node:assert/strict';
import type { ImapFlow } from 'imapflow';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { GMAIL_USER, mime } from '../support/gmail';
import { addGmailUser, imapLogin, messageCount } from './gmail-helpers';
import { eventually, startSyncServer, type SyncServer } from './helpers';

const BOB = 'bob@example.com';

describe('Gmail under quota pressure (end to end)', function () {
  this.timeout(90000);
  let emu: GmailEmulator;
  let server: SyncServer | null = null;
  const clients: ImapFlow[] = [];

  async function login(user: string): Promise<ImapFlow> {
    const c = await imapLogin(server!, user);
    clients.push(c);
    return c;
  }

  const count = (c: ImapFlow, box = 'INBOX'): Promise<number> => messageCount(c, box);

  beforeEach(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER, BOB] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
    await server?.stop();
    server = null;
    await emu.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  it("one user's backlog on a small budget does not slow another user's sync or new mail", async () => {
    for (let i = 0; i < 300; i++) emu.state.deliver(GMAIL_USER, mime({ subject: `a${i}` }));
    for (let i = 0; i < 20; i++) emu.state.deliver(BOB, mime({ subject: `b${i}` }));
    server = await startSyncServer();
    // Alice's ceiling: 600 units a minute, her 300 messages need ~1,500 units of metadata
    // before the first snapshot: minutes of waiting on her own budget.
    await addGmailUser(server, emu, { settings: { unitsPerMinute: 600 } });
    await addGmailUser(server, emu, { user: 'bob', address: BOB });
    const alice = await login('alice');
    const bob = await login('bob');
    await eventually(async () => (await count(bob, 'INBOX')) === 20, 30000, "bob's first sync");
    await bob.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => bob.on('exists', (e: { count: number }) => resolve(e.count)));
    void bob.idle().catch(() => undefined);
    emu.state.deliver(BOB, mime({ subject: 'for bob now' }));
    assert.equal(await exists, 21, "bob's new message pushed to his IDLE");
    assert.ok((await count(alice, 'INBOX')) < 300, "alice's sync is still waiting on her budget");
    const usage = emu.state.quota.usage(GMAIL_USER);
    assert.equal(usage.refused, 0, 'alice paced by her budget, never refused by Gmail');
    assert.ok(usage.units <= 600 + 100, `alice spent ${usage.units} units: within her ceiling`);
  });

  it('a change Gmail refused until memgate stopped reaches Gmail after the restart, once; nothing doubled', async () => {
    const first = emu.state.deliver(GMAIL_USER, mime({ subject: 'one' }));
    emu.state.deliver(GMAIL_USER, mime({ subject: 'two' }));
    server = await startSyncServer();
    await addGmailUser(server, emu);
    let c = await login('alice');
    await eventually(async () => (await count(c)) === 2, 20000, 'two messages');
    const uidsBefore = new Map<string, number>();
    await c.mailboxOpen('INBOX');
    for await (const m of c.fetch('1:*', { uid: true, envelope: true })) uidsBefore.set(m.envelope?.subject ?? '', m.uid);

    emu.faults.inject({ method: 'messages.modify', times: 1000, fault: { kind: 'status', status: 503 } });
    await c.messageFlagsAdd({ uid: String(uidsBefore.get('one')) }, ['\\Flagged'], { uid: true });
    await eventually(() => emu.state.requests.some((r) => r.methodId?.endsWith('messages.modify') && r.status === 503), 20000, 'Gmail refusing the change');
    for (const x of clients.splice(0)) await x.logout().catch(() => undefined);
    const old = server;
    await old.stop();
    emu.faults.clear();
    emu.state.deliver(GMAIL_USER, mime({ subject: 'three' }));

    server = await startSyncServer({ databaseUrl: old.databaseUrl, dataDir: old.dataDir });
    c = await login('alice');
    const mb = emu.state.mailbox(GMAIL_USER);
    await eventually(() => mb.get(first.id).labelIds.includes('STARRED'), 30000, 'STARRED at Gmail after the restart');
    await eventually(async () => (await count(c)) === 3, 20000, 'three messages');
    await c.mailboxOpen('INBOX');
    const after = new Map<string, { uid: number; flags: Set<string> }>();
    for await (const m of c.fetch('1:*', { uid: true, envelope: true, flags: true })) after.set(m.envelope?.subject ?? '', { uid: m.uid, flags: m.flags ?? new Set() });
    assert.equal(after.size, 3, 'no message doubled');
    for (const [subject, uid] of uidsBefore) assert.equal(after.get(subject)?.uid, uid, `${subject} kept its UID`);
    assert.ok(after.get('one')?.flags.has('\\Flagged'));
    assert.equal(mb.all().length, 3, 'nothing doubled at Gmail');
    assert.equal(mb.all().filter((m) => m.labelIds.includes('STARRED')).length, 1);
  });
});
