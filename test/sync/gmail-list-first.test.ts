// A Gmail first sync lists first (issue 5): a folder is shown once its messages.list pages
// are in (flags from listing UNREAD/STARRED/DRAFT), not after a metadata get per message;
// bodies then come newest first, and each brings the size and Gmail's internalDate. With
// the emulator's messages.get slowed, INBOX is listed and the newest messages are readable
// while most older bodies are still not fetched; at the end every UID is in arrival order,
// and sizes and dates are Gmail's.
import assert from 'node:assert/strict';
import type { ImapFlow } from 'imapflow';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import type { StoredMessage } from '../emulators/gmail/format';
import { GMAIL_USER, mime } from '../support/gmail';
import { addGmailUser, imapLogin, messageCount } from './gmail-helpers';
import { eventually, startSyncServer, type SyncServer } from './helpers';

const N = 120;

describe('Gmail: first sync lists first, bodies newest first', function () {
  this.timeout(180000);
  let emu: GmailEmulator;
  let server: SyncServer;
  let client: ImapFlow | null = null;

  before(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER] });
    // An on-demand body waits for the fill's batch in progress (slowed below).
    server = await startSyncServer({ sync: { bodyFetchTimeoutMs: 60000 } });
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await server?.stop();
    await emu?.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  it('INBOX listed and the newest readable before the older bodies; UIDs in arrival order; sizes and dates are Gmail\'s', async () => {
    const sent: StoredMessage[] = [];
    const mb = emu.state.mailbox(GMAIL_USER);
    for (let i = 0; i < N; i++) {
      const labels = ['INBOX', ...(i % 3 === 0 ? ['UNREAD'] : []), ...(i % 7 === 0 ? ['STARRED'] : [])];
      // Distinct dates an hour apart, all in the past (a stand-in date would show).
      const date = new Date(Date.UTC(2024, 0, 1) + i * 3600_000).toUTCString().replace('GMT', '+0000');
      sent.push(mb.add(mime({ subject: `m${i}`, messageId: `<lf-${i}@example.org>`, date }), { labelIds: labels, internalDateSource: 'dateHeader' }));
    }
    const gets = (): number => emu.state.quota.usage(GMAIL_USER).calls['gmail.users.messages.get'] ?? 0;
    // Every messages.get (metadata or raw, batched or not) waits 300 ms: the fill takes long.
    emu.state.faults.inject({ method: 'messages.get', times: Infinity, fault: { kind: 'slow', delayMs: 300 } });
    const accountId = await addGmailUser(server, emu);
    client = await imapLogin(server);
    await eventually(async () => (await messageCount(client!, 'INBOX')) === N, 60000, `${N} messages listed in INBOX`);
    assert.ok(gets() < N / 2, `INBOX shown after ${gets()} messages.get of ${N} (no metadata get per message)`);

    const uncached = async (): Promise<Set<string>> => {
      const rows = (await server.memgate.database.dataSource.query(
        `SELECT b.backend_id FROM backend_messages b JOIN message_contents c ON c.id = b.content_id WHERE b.account_id = $1 AND b.folder_id = 'INBOX' AND c.raw IS NULL`,
        [accountId],
      )) as Array<{ backend_id: string }>;
      return new Set(rows.map((r) => r.backend_id));
    };
    // The newest 20 get their bodies first, while older ones still wait.
    const newest = sent.slice(-20).map((m) => m.id);
    let waiting = new Set<string>();
    await eventually(async () => {
      waiting = await uncached();
      return newest.every((id) => !waiting.has(id));
    }, 60000, 'the newest 20 cached');
    assert.ok(waiting.size >= N / 2, `${waiting.size} older bodies still waiting when the newest 20 were in`);

    // Flags came from the flag-label listings, before the bodies.
    await client.mailboxOpen('INBOX');
    const flags = new Map<number, Set<string>>();
    for await (const m of client.fetch('1:*', { uid: true, flags: true })) flags.set(m.uid, m.flags!);
    assert.equal(flags.size, N);
    const uids = [...flags.keys()].sort((a, b) => a - b);
    uids.forEach((uid, i) => {
      assert.equal(flags.get(uid)!.has('\\Seen'), i % 3 !== 0, `\\Seen of m${i}`);
      assert.equal(flags.get(uid)!.has('\\Flagged'), i % 7 === 0, `\\Flagged of m${i}`);
    });
    // The oldest, its body not fetched yet: INTERNALDATE and RFC822.SIZE are Gmail's from
    // the first look (the body is fetched for them), never the listing's stand-ins.
    assert.ok((await uncached()).has(sent[0]!.id), 'the oldest body not fetched yet (the case under test)');
    for await (const m of client.fetch(String(uids[0]), { uid: true, size: true, internalDate: true }, { uid: true })) {
      assert.equal(m.size, sent[0]!.raw.length, 'RFC822.SIZE of the oldest before the fill reached it');
      assert.equal(Math.floor(new Date(m.internalDate!).getTime() / 1000), Math.floor(sent[0]!.internalDate / 1000), 'INTERNALDATE of the oldest before the fill reached it');
    }
    // The newest are readable (from the cache).
    const top = uids.slice(-5).join(',');
    for await (const m of client.fetch(top, { uid: true, source: true }, { uid: true })) {
      const i = uids.indexOf(m.uid);
      assert.deepEqual(m.source, sent[i]!.raw, `the body of m${i}`);
    }
    await client.logout();
    client = null;

    emu.state.faults.clear();
    await eventually(async () => (await uncached()).size === 0, 90000, 'every body cached');
    // Every UID in arrival order; sizes exact; INTERNALDATE is Gmail's internalDate.
    client = await imapLogin(server);
    await client.mailboxOpen('INBOX');
    const seen: Array<{ uid: number; subject: string; size: number; date: number }> = [];
    for await (const m of client.fetch('1:*', { uid: true, envelope: true, size: true, internalDate: true })) {
      seen.push({ uid: m.uid, subject: m.envelope!.subject!, size: m.size!, date: new Date(m.internalDate!).getTime() });
    }
    seen.sort((a, b) => a.uid - b.uid);
    assert.deepEqual(seen.map((s) => s.subject), sent.map((_, i) => `m${i}`), 'UIDs in arrival order');
    seen.forEach((s, i) => {
      assert.equal(s.size, sent[i]!.raw.length, `RFC822.SIZE of m${i}`);
      // IMAP dates have whole seconds.
      assert.equal(Math.floor(s.date / 1000), Math.floor(mb.get(sent[i]!.id).internalDate / 1000), `INTERNALDATE of m${i}`);
    });
  });
});
