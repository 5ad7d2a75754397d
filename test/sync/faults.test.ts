// Backend faults (issue 3): each one makes the account degraded with a reason, IMAP keeps
// serving what is cached (bodies it cannot fetch get NO [UNAVAILABLE]), and once the fault
// is gone the account recovers by itself with no message lost or duplicated and every UID
// unchanged. The backend is the scriptable POP3 server (test/support/fake-pop3.ts).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FakePop3 } from '../support/fake-pop3';
import { RawClient } from '../support/raw-client';
import { eventually, message, startSyncServer, type SyncServer } from './helpers';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('sync faults (POP3)', function () {
  this.timeout(60000);
  let server: SyncServer;
  let fake: FakePop3;
  let userN = 0;

  before(async () => {
    server = await startSyncServer();
  });
  after(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    fake = new FakePop3();
    await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  async function newAccount(extra: Record<string, unknown> = {}): Promise<{ user: string; accountId: string; userId: string }> {
    const user = `f${++userN}`;
    const u = await server.memgate.store.createUser(user, 'imap-pass');
    const accountId = await server.addPop3Account(user, { host: '127.0.0.1', port: fake.port, username: 'pop', password: 'pop-pass' }, { timeoutMs: 1000, ...extra });
    return { user, accountId, userId: u.id };
  }

  const state = async (accountId: string) => (await server.sync.account(accountId))!;
  const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.memgate.database.dataSource.query(sql, params);

  /** (uid, sha256 of the cached body or null) of INBOX, by UID. */
  async function inbox(userId: string): Promise<Array<{ uid: number; sha: string | null }>> {
    const rows = await q<{ uid: number; raw: Buffer | null }>(
      `SELECT mm.uid, c.raw FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id JOIN message_contents c ON c.id = mm.content_id
        WHERE m.user_id = $1 AND m.name = 'INBOX' ORDER BY mm.uid`,
      [userId],
    );
    return rows.map((r) => ({ uid: r.uid, sha: r.raw ? sha(r.raw) : null }));
  }

  async function synced(accountId: string, userId: string, n: number): Promise<void> {
    await eventually(async () => {
      const rows = await inbox(userId);
      return rows.length === n && rows.every((r) => r.sha !== null) && (await state(accountId)).state === 'idle';
    }, 20000, `${n} messages synced`);
  }

  it('server down: degraded with a reason, cached bodies served, uncached ones NO [UNAVAILABLE], then recovers', async () => {
    const msgs = [message('one'), message('two'), message('three')];
    msgs.forEach((m, i) => fake.add(`u${i}`, m));
    const { user, accountId, userId } = await newAccount();
    await synced(accountId, userId, 3);

    // New mail is listed, but its body never comes (stall), then the server goes away.
    fake.faults.stallRetr = true;
    const later = [message('four'), message('five')];
    later.forEach((m, i) => fake.add(`v${i}`, m));
    await eventually(async () => (await inbox(userId)).length === 5, 20000, 'new messages listed');
    await eventually(async () => (await state(accountId)).state === 'degraded', 20000, 'degraded');
    const port = fake.port;
    await fake.stop();
    await eventually(async () => /connect/.test((await state(accountId)).reason ?? ''), 20000, 'reason names the connection');

    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} imap-pass`);
    await c.command('s', 'SELECT INBOX');
    const cached = await c.command('f1', 'UID FETCH 1 BODY.PEEK[]');
    assert.match(cached, /Subject: one/);
    assert.match(cached, /^f1 OK/m);
    const missing = await c.command('f2', 'UID FETCH 5 BODY.PEEK[]');
    assert.match(missing, /^f2 NO \[UNAVAILABLE\]/m);
    // The session lives on.
    assert.match(await c.command('n', 'NOOP'), /^n OK/m);

    fake.faults.stallRetr = false;
    await fake.start(port);
    await synced(accountId, userId, 5);
    const rows = await inbox(userId);
    assert.deepEqual(rows.map((r) => r.uid), [1, 2, 3, 4, 5]);
    assert.deepEqual(rows.map((r) => r.sha), [...msgs, ...later].map(sha));
    assert.match(await c.command('f3', 'UID FETCH 5 BODY.PEEK[]'), /Subject: five/);
    c.close();
    const s = await state(accountId);
    assert.equal(s.reason, null);
    assert.equal(s.failures, 0);
  });

  it('a server that stalls (no greeting, or no answer to RETR): degraded as stalled, cached mail served, then recovers', async () => {
    const msgs = [message('s1'), message('s2')];
    msgs.forEach((m, i) => fake.add(`u${i}`, m));
    const { user, accountId, userId } = await newAccount();
    await synced(accountId, userId, 2);
    fake.faults.stallGreeting = true;
    await eventually(async () => /stalled/.test((await state(accountId)).reason ?? ''), 20000, 'stalled at the greeting');
    assert.equal((await state(accountId)).state, 'degraded');
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} imap-pass`);
    await c.command('s', 'SELECT INBOX');
    assert.match(await c.command('f', 'UID FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]'), /Subject: s1[\s\S]*Subject: s2[\s\S]*^f OK/m);
    // Greets again, but a new message's RETR never gets an answer.
    fake.faults.stallGreeting = false;
    fake.faults.stallRetr = true;
    fake.add('u2', message('s3'));
    await eventually(async () => (await inbox(userId)).length === 3, 20000, 'new message listed');
    await eventually(async () => /stalled/.test((await state(accountId)).reason ?? '') && (await state(accountId)).failures > 0, 20000, 'stalled in RETR');
    fake.faults.stallRetr = false;
    await synced(accountId, userId, 3);
    assert.deepEqual(await inbox(userId), [...msgs, fake.messages[2].raw].map((m, i) => ({ uid: i + 1, sha: sha(m) })));
    c.close();
  });

  it('a poll with nothing new costs CAPA, USER, PASS, UIDL and QUIT (the cursor is the UIDL digest)', async () => {
    fake.add('u1', message('only'));
    const { accountId, userId } = await newAccount();
    await synced(accountId, userId, 1);
    const sessions = fake.sessions;
    const from = fake.commands.length;
    await eventually(() => fake.sessions >= sessions + 2 && fake.concurrent === 0, 20000, 'two more polls');
    const lastQuit = fake.commands.lastIndexOf('QUIT');
    const previousQuit = fake.commands.lastIndexOf('QUIT', lastQuit - 1);
    assert.ok(previousQuit >= from);
    assert.deepEqual(fake.commands.slice(previousQuit + 1, lastQuit + 1), ['CAPA', 'USER pop', 'PASS ***', 'UIDL', 'QUIT']);
  });

  it('wrong password: needs new credentials, recovers when the password works again', async () => {
    fake.add('u1', message('hello'));
    fake.password = 'changed';
    const { accountId, userId } = await newAccount();
    await eventually(async () => (await state(accountId)).state === 'auth', 20000, 'auth state');
    assert.match((await state(accountId)).reason ?? '', /needs new credentials/);
    fake.password = 'pop-pass';
    await synced(accountId, userId, 1);
  });

  it('connection dropped in the middle of RETR: retried, nothing lost or duplicated', async () => {
    const msgs = Array.from({ length: 6 }, (_, i) => message(`m${i}`, 'x'.repeat(3000)));
    msgs.forEach((m, i) => fake.add(`u${i}`, m));
    fake.faults.dropMidRetr = 2;
    const { accountId, userId } = await newAccount();
    await eventually(async () => (await state(accountId)).failures > 0, 20000, 'a failure');
    await synced(accountId, userId, 6);
    assert.deepEqual((await inbox(userId)).map((r) => r.sha), msgs.map(sha));
  });

  it('[IN-USE]: degraded while the maildrop is locked, then recovers', async () => {
    fake.add('u1', message('locked'));
    fake.faults.inUse = true;
    const { accountId, userId } = await newAccount();
    await eventually(async () => /in use/.test((await state(accountId)).reason ?? ''), 20000, 'in-use reason');
    assert.equal((await state(accountId)).state, 'degraded');
    fake.faults.inUse = false;
    await synced(accountId, userId, 1);
  });

  it('every UIDL renumbered: messages recognised by content, UIDs and UIDVALIDITY unchanged', async () => {
    const msgs = [message('a'), message('b'), message('c')];
    msgs.forEach((m, i) => fake.add(`old${i}`, m));
    const { accountId, userId } = await newAccount();
    await synced(accountId, userId, 3);
    const [before] = await q<{ uid_validity: string }>(`SELECT uid_validity FROM mailboxes WHERE user_id = $1 AND name = 'INBOX'`, [userId]);
    fake.messages.forEach((m, i) => (m.uidl = `new${i}`));
    await eventually(async () => {
      const ids = await q<{ backend_id: string }>('SELECT backend_id FROM backend_messages WHERE account_id = $1 ORDER BY uid', [accountId]);
      return ids.map((r) => r.backend_id).join() === 'new0,new1,new2';
    }, 20000, 'ids rebound');
    assert.deepEqual(await inbox(userId), msgs.map((m, i) => ({ uid: i + 1, sha: sha(m) })));
    const [after] = await q<{ uid_validity: string }>(`SELECT uid_validity FROM mailboxes WHERE user_id = $1 AND name = 'INBOX'`, [userId]);
    assert.equal(after.uid_validity, before.uid_validity);
    const expunged = await q('SELECT 1 FROM expunge_log e JOIN mailboxes m ON m.id = e.mailbox_id WHERE m.user_id = $1', [userId]);
    assert.equal(expunged.length, 0);
  });

  it('every UIDL renumbered before some bodies were fetched: new UIDVALIDITY with its reason, every message once, recognised ones keep their flags', async () => {
    const cached = [message('c1'), message('c2'), message('c3')];
    cached.forEach((m, i) => fake.add(`old${i}`, m));
    const { user, accountId, userId } = await newAccount();
    await synced(accountId, userId, 3);
    // Two more arrive, listed but never fetched (every RETR stalls).
    fake.faults.stallRetr = true;
    const uncached = [message('u1'), message('u2')];
    uncached.forEach((m, i) => fake.add(`new${i}`, m));
    await eventually(async () => (await inbox(userId)).length === 5, 20000, 'new ones listed');
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} imap-pass`);
    const before = /UIDVALIDITY (\d+)/.exec(await c.command('s', 'SELECT INBOX'))![1];
    await c.command('st', 'UID STORE 1 +FLAGS (\\Flagged)');

    fake.messages.forEach((m, i) => (m.uidl = `renumbered${i}`));
    fake.faults.stallRetr = false;
    // The session that stays selected sees the old UIDs go and the messages come again.
    await eventually(async () => /\* 5 EXISTS/.test(await c.command('n', 'NOOP')), 20000, 'messages announced again');
    await synced(accountId, userId, 5);
    const rows = await inbox(userId);
    assert.deepEqual(rows.map((r) => r.sha), [...cached, ...uncached].map(sha), 'every message once, in the same order');
    assert.ok(rows.every((r) => r.uid > 5), 'new UIDs, above every old one');
    c.close();

    const c2 = await RawClient.connect(server.port);
    await c2.command('l', `LOGIN ${user} imap-pass`);
    const after = /UIDVALIDITY (\d+)/.exec(await c2.command('s', 'SELECT INBOX'))![1];
    assert.notEqual(after, before);
    const flags = await c2.command('f', 'FETCH 1:* (FLAGS)');
    assert.match(flags, /^\* 1 FETCH \(FLAGS \(\\Flagged\)\)/m, 'a recognised message keeps its flags');
    c2.close();
    const [logged] = await q<{ reason: string; uid_validity: string }>(
      `SELECT l.reason, l.uid_validity FROM uid_validity_log l JOIN mailboxes m ON m.id = l.mailbox_id WHERE m.user_id = $1 AND m.name = 'INBOX' ORDER BY l.id DESC LIMIT 1`,
      [userId],
    );
    assert.equal(logged.uid_validity, after);
    assert.match(logged.reason, /renumbered every message id; 2 of 5 known messages could not be recognised/);
    assert.match((await server.sync.counts(accountId)).lastRenumbering?.reason ?? '', /renumbered/);
  });

  it('every UIDL renumbered while bodies are known by their header only: recognised by header and size, UIDs and UIDVALIDITY kept', async () => {
    const msgs = Array.from({ length: 60 }, (_, i) => message(`h${i}`, `text ${i}`));
    msgs.forEach((m, i) => fake.add(`old${i}`, m));
    fake.faults.stallRetrAfter = 1; // headers come (TOP), bodies do not
    const { accountId, userId } = await newAccount();
    await eventually(async () => {
      const [r] = await q<{ n: string }>('SELECT count(*) AS n FROM message_contents WHERE user_id = $1 AND header IS NOT NULL', [userId]);
      return Number(r.n) === 60;
    }, 20000, 'headers stored');
    const [before] = await q<{ uid_validity: string }>(`SELECT uid_validity FROM mailboxes WHERE user_id = $1 AND name = 'INBOX'`, [userId]);
    fake.messages.forEach((m, i) => (m.uidl = `new${i}`));
    fake.faults.stallRetrAfter = null;
    await synced(accountId, userId, 60);
    assert.deepEqual(await inbox(userId), msgs.map((m, i) => ({ uid: i + 1, sha: sha(m) })));
    const [after] = await q<{ uid_validity: string }>(`SELECT uid_validity FROM mailboxes WHERE user_id = $1 AND name = 'INBOX'`, [userId]);
    assert.equal(after.uid_validity, before.uid_validity);
    const ids = await q<{ backend_id: string }>('SELECT backend_id FROM backend_messages WHERE account_id = $1 ORDER BY uid', [accountId]);
    assert.deepEqual(ids.map((r) => r.backend_id), msgs.map((_, i) => `new${i}`));
  });

  it('duplicate UIDLs, a vanished UIDL and one that reappears: no loss, no duplicate, UIDs never reused', async () => {
    const one = message('dup one');
    const two = message('dup two');
    fake.add('same', one);
    fake.add('same', two);
    fake.add('solo', message('solo'));
    const { accountId, userId } = await newAccount();
    await synced(accountId, userId, 3);
    const solo = fake.messages.pop()!;
    await eventually(async () => (await inbox(userId)).length === 2, 20000, 'vanished one expunged');
    fake.messages.push(solo);
    await synced(accountId, userId, 3);
    assert.deepEqual((await inbox(userId)).map((r) => r.uid), [1, 2, 4]);
    assert.deepEqual((await inbox(userId)).map((r) => r.sha), [sha(one), sha(two), sha(solo.raw)]);
  });
});
