// A POP3 server's limits on sessions (issue 3): LOGIN-DELAY (RFC 2449 6.5) lengthens the poll
// interval and is waited out after a [LOGIN-DELAY] refusal; [IN-USE] (RFC 2449 8.1.2) makes
// the account degraded until the other session lets go. Dovecot has no LOGIN-DELAY, so the
// scriptable server enforces it; [IN-USE] comes from Dovecot with pop3_lock_session.
import assert from 'node:assert/strict';
import { Pop3Client } from '../../adapters/pop3/client';
import { FakePop3 } from '../support/fake-pop3';
import { requireDovecot, startDovecot } from '../support/dovecot';
import { eventually, message, startSyncServer, type SyncServer } from './helpers';

describe('POP3 session limits: LOGIN-DELAY and [IN-USE]', function () {
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

  const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.memgate.database.dataSource.query(sql, params);
  const state = async (accountId: string) => (await server.sync.account(accountId))!;

  async function newAccount(port: number, extra: Record<string, unknown> = {}, credentials = { username: 'pop', password: 'pop-pass' }): Promise<{ accountId: string; userId: string }> {
    const user = `l${++userN}`;
    const u = await server.memgate.store.createUser(user, 'imap-pass');
    const accountId = await server.addPop3Account(user, { host: '127.0.0.1', port, ...credentials }, { timeoutMs: 2000, ...extra });
    return { accountId, userId: u.id };
  }

  async function shown(userId: string): Promise<number> {
    const [r] = await q<{ n: string }>(
      `SELECT count(*) AS n FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id WHERE m.user_id = $1 AND m.name = 'INBOX'`,
      [userId],
    );
    return Number(r.n);
  }

  it('polls no more often than the LOGIN-DELAY the server announces for the user after login, though the interval is shorter', async () => {
    fake.add('u1', message('one'));
    fake.faults.loginDelay = 1; // "LOGIN-DELAY 1 USER" before login...
    fake.faults.loginDelayUser = 2; // ...and 2 for this user after it
    fake.faults.enforceLoginDelay = true;
    const { accountId, userId } = await newAccount(fake.port, { pollIntervalSeconds: 0.2 });
    await eventually(async () => (await shown(userId)) === 1, 20000, 'first sync');
    fake.add('u2', message('two'));
    await eventually(() => fake.sessions >= 3, 20000, 'two more polls');
    await eventually(async () => (await shown(userId)) === 2, 20000, 'second message');
    assert.equal(fake.loginDelayRefusals, 0, 'never logged in again within the login delay');
    const s = await state(accountId);
    assert.equal(s.state, 'idle');
    assert.equal(s.failures, 0);
    // The CAPA after login was asked for (the per-user value), right after every login.
    const logins = fake.commands.flatMap((c, i) => (c === 'PASS ***' && i + 1 < fake.commands.length ? [fake.commands[i + 1]] : []));
    assert.ok(logins.length >= 2);
    assert.ok(logins.every((next) => next === 'CAPA'), logins.join(' '));
  });

  it('a [LOGIN-DELAY] refusal makes the account degraded and is retried after the delay, not sooner', async () => {
    fake.add('u1', message('one'));
    fake.faults.loginDelay = 2;
    fake.faults.enforceLoginDelay = true;
    fake.lastLoginAt = Date.now(); // another client has just logged in
    const { accountId, userId } = await newAccount(fake.port, { pollIntervalSeconds: 0.2 });
    await eventually(async () => /login too soon/.test((await state(accountId)).reason ?? ''), 20000, 'login-delay reason');
    assert.equal((await state(accountId)).state, 'degraded');
    await eventually(async () => (await shown(userId)) === 1 && (await state(accountId)).state === 'idle', 20000, 'recovered');
    assert.equal(fake.loginDelayRefusals, 1, 'one refusal, then the announced delay was waited out');
  });

  it('[IN-USE] from Dovecot (pop3_lock_session): degraded while another session holds the maildrop, then recovers', async function () {
    requireDovecot(this);
    this.timeout(120000);
    const dovecot = await startDovecot({ users: { alice: 'secret' }, extraConfig: 'pop3_lock_session = yes' });
    try {
      await dovecot.deliver('alice', message('locked'));
      const holder = await Pop3Client.connect({ host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' });
      await holder.login('alice', 'secret');
      // Dovecot waits for the lock (about 10 s) before it answers [IN-USE].
      const { accountId, userId } = await newAccount(dovecot.pop3Port, { timeoutMs: 20000 }, { username: 'alice', password: 'secret' });
      await eventually(async () => /in use/.test((await state(accountId)).reason ?? ''), 40000, 'in-use reason');
      const s = await state(accountId);
      assert.equal(s.state, 'degraded');
      assert.match(s.reason ?? '', /\[IN-USE\]/);
      assert.equal(await shown(userId), 0);
      await holder.quit();
      await eventually(async () => (await shown(userId)) === 1 && (await state(accountId)).state === 'idle', 40000, 'recovered');
    } finally {
      await dovecot.stop();
    }
  });
});
