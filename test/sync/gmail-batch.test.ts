// A STORE on many messages reaches Gmail as users.messages.batchModify (50 units for up to
// 1000 ids), not one messages.modify (5 units) per message, measured with the emulator's
// own quota accounting; the history Gmail reports back for it changes nothing in IMAP.
import assert from 'node:assert/strict';
import type { ImapFlow } from 'imapflow';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { GMAIL_USER, mime } from '../support/gmail';
import { addGmailUser, imapLogin, messageCount } from './gmail-helpers';
import { eventually, startSyncServer, type SyncServer } from './helpers';

const N = 500;

describe('Gmail: STORE on many messages is batched', function () {
  this.timeout(120000);
  let emu: GmailEmulator;
  let server: SyncServer;
  let client: ImapFlow;

  before(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER] });
    for (let i = 0; i < N; i++) emu.state.deliver(GMAIL_USER, mime({ subject: `m${i}`, messageId: `<batch-${i}@example.org>` }));
    server = await startSyncServer();
    await addGmailUser(server, emu);
    client = await imapLogin(server);
    await eventually(async () => (await messageCount(client, 'INBOX')) === N, 60000, `${N} messages in INBOX`);
    // And the bodies cached (no messages.get for a while), so the quota spent below is the
    // STORE's and the polls'.
    const gets = (): number => emu.state.quota.usage(GMAIL_USER).calls['gmail.users.messages.get'] ?? 0;
    await eventually(async () => {
      const before = gets();
      await new Promise((r) => setTimeout(r, 2000));
      return before >= N && gets() === before;
    }, 90000, 'bodies cached');
    // Each message is in INBOX and All Mail (two shadow copies): listed without metadata
    // (a first sync), and one raw get for both copies.
    assert.equal(gets(), N, 'the body once per Gmail message, no metadata');
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await server?.stop();
    await emu?.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  const writes = (): { modify: number; batchModify: number } => {
    const calls = emu.state.quota.usage(GMAIL_USER).calls;
    return { modify: calls['gmail.users.messages.modify'] ?? 0, batchModify: calls['gmail.users.messages.batchModify'] ?? 0 };
  };

  it(`STORE 1:${N} +FLAGS (\\Seen) costs one batchModify (50 units); nothing echoes back`, async () => {
    const before = writes();
    const unitsBefore = emu.state.quota.usage(GMAIL_USER).units;
    await client.mailboxOpen('INBOX');
    await client.messageFlagsAdd(`1:${N}`, ['\\Seen']);
    const mb = emu.state.mailbox(GMAIL_USER);
    await eventually(() => mb.all().every((m) => !m.labelIds.includes('UNREAD')), 30000, 'UNREAD removed from every message at Gmail');
    const after = writes();
    assert.equal(after.batchModify - before.batchModify, 1, 'one batchModify');
    assert.equal(after.modify - before.modify, 0, 'no messages.modify');
    // Let the history of the change come back (one more poll) and check nothing moved.
    const polls = (): number => emu.state.quota.usage(GMAIL_USER).calls['gmail.users.history.list'] ?? 0;
    const seen = polls();
    await eventually(() => polls() >= seen + 2, 15000, 'two more polls');
    const unseen = await client.search({ seen: false });
    assert.deepEqual(unseen, [], 'every message still \\Seen in IMAP');
    const units = emu.state.quota.usage(GMAIL_USER).units - unitsBefore;
    // 50 for the batchModify plus the polls (history.list 2 units each, and a few profile
    // and label reads); 500 messages.modify would have been 2,500.
    assert.ok(units < 100, `${units} units for the STORE and the polls after it`);
  });
});
