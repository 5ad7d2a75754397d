// An account's sending settings through the real CLI (`memgate account addresses|relay`),
// and SMTP relay authentication with the login sealed under the master key: the relay
// (an smtp-server sink on loopback) requires AUTH and sees memgate's stored login.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PgSendingAccounts } from '../../src/store/sending-accounts';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { startTestServer, type TestServer } from '../support/server';
import { message, SmtpRaw, startSink, type Sink } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');

describe('relay authentication and `memgate account addresses|relay`', function () {
  this.timeout(60000);
  let server: TestServer;
  let sink: Sink;
  let userId: string;
  let accountId: string;

  function cli(args: string[], stdin = ''): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, DATABASE_URL: server.databaseUrl, MEMGATE_DATA_DIR: server.dataDir, MEMGATE_LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.stdin.end(stdin);
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  async function outbox(): Promise<Array<{ state: string; last_error: string | null }>> {
    return server.memgate.database.dataSource.query('SELECT state, last_error FROM outbox ORDER BY id');
  }

  async function submit(subject: string): Promise<void> {
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    await client.login('rita', 'rita-pass');
    assert.match(await client.send('MAIL FROM:<rita@example.org>'), /^250 /);
    assert.match(await client.send('RCPT TO:<sam@remote.test>'), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    assert.match(await client.send(message('rita@example.org', 'sam@remote.test', subject) + '.'), /^250 /);
    client.close();
  }

  before(async () => {
    server = await startTestServer({ settings: { outboxRetryBase: 0.05 } });
    sink = await startSink(0, { user: 'relay-rita', pass: 'relay secret' });
    await server.addUser('rita', 'rita-pass');
    const accounts = new PgSendingAccounts(server.memgate.database.dataSource);
    userId = (await accounts.userIdByName('RITA'))!;
    accountId = (await accounts.findAccount(userId, 'primary'))!.id;
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
  });

  it('sets the sending addresses, and refuses what is not an address', async () => {
    const bad = await cli(['account', 'addresses', 'rita', 'primary', '--set', 'rita@example.org,not an address']);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /not an address: not an address/);
    const r = await cli(['account', 'addresses', 'rita', accountId, '--set', 'Rita@Example.org, @rita.example']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /sends as: rita@example\.org, @rita\.example/);
    const shown = await cli(['account', 'addresses', 'rita', 'primary']);
    assert.match(shown.out, /sends as: rita@example\.org, @rita\.example/);
    assert.match((await cli(['account', 'addresses', 'rita', '999999'])).out, /has no account 999999/);
  });

  it('checks the relay login before saving it, and stores it sealed', async () => {
    const relayArgs = ['account', 'relay', 'rita', 'primary', '--host', '127.0.0.1', '--port', String(sink.port), '--username', 'relay-rita', '--password-stdin'];
    const wrong = await cli(relayArgs, 'not the password\n');
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /cannot use this relay .*nothing was saved/);
    assert.match((await cli(['account', 'relay', 'rita', 'primary'])).out, /relay: none/);
    const ok = await cli(relayArgs, 'relay secret\n');
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, new RegExp(`relay: 127\\.0\\.0\\.1:${sink.port}, .*its own login`));
    const [row] = await server.memgate.database.dataSource.query('SELECT settings::text AS settings, relay_credentials FROM accounts WHERE id = $1', [accountId]);
    assert.ok(!String(row.settings).includes('secret'), 'no password in the settings');
    assert.ok(Buffer.isBuffer(row.relay_credentials) && !row.relay_credentials.includes('relay secret'), 'the login is sealed');
  });

  it('logs in to the relay with the stored login', async () => {
    const before = sink.messages.length;
    await submit('through an authenticated relay');
    await sink.waitFor(before + 1);
    assert.equal(sink.messages[before].user, 'relay-rita');
    assert.deepEqual(sink.messages[before].to, ['sam@remote.test']);
  });

  it('keeps a message queued while the relay refuses the login, and sends it once the login is fixed', async () => {
    sink.login = { user: 'relay-rita', pass: 'rotated' };
    // A connection memgate keeps from the last message is logged in already.
    sink.dropConnections();
    const before = sink.messages.length;
    const authsBefore = sink.auths.length;
    await submit('waits for a new relay password');
    const deadline = Date.now() + 20000;
    while (!sink.auths.slice(authsBefore).some((a) => !a.ok)) {
      if (Date.now() > deadline) throw new Error('memgate never tried the relay');
      await new Promise((r) => setTimeout(r, 50));
    }
    const last = (await outbox()).at(-1)!;
    assert.equal(last.state, 'queued', 'a refused login is not the message being refused');
    const inbox = await server.memgate.store.getMailbox(userId, 'INBOX');
    assert.equal((await server.memgate.store.listMessages(userId, inbox!.id)).length, 0, 'no DSN');
    // The operator sets the new password; the next retry goes through.
    const fixed = await cli(['account', 'relay', 'rita', 'primary', '--host', '127.0.0.1', '--port', String(sink.port), '--username', 'relay-rita', '--password-stdin'], 'rotated\n');
    assert.equal(fixed.code, 0, fixed.out);
    await sink.waitFor(before + 1);
    assert.equal(sink.messages.length, before + 1);
    assert.match(sink.messages[before].raw.toString(), /Subject: waits for a new relay password/);
    for (;;) {
      const rows = await outbox();
      if (rows.at(-1)!.state === 'sent') break;
      if (Date.now() > deadline) throw new Error(`outbox: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("reuses the account's own backend login with --account-login", async () => {
    const none = await cli(['account', 'relay', 'rita', 'primary', '--host', '127.0.0.1', '--port', String(sink.port), '--account-login']);
    assert.equal(none.code, 1);
    assert.match(none.out, /no backend login to reuse/);
    // As `account add` leaves it for a POP3 account: the backend login, sealed.
    const key = loadMasterKey(server.dataDir).key;
    await server.memgate.database.dataSource.query('UPDATE accounts SET credentials = $2 WHERE id = $1', [
      accountId,
      encryptCredentials(key, { username: 'relay-rita', password: 'rotated' }),
    ]);
    const r = await cli(['account', 'relay', 'rita', 'primary', '--host', '127.0.0.1', '--port', String(sink.port), '--account-login']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /the account's own login/);
    const before = sink.messages.length;
    await submit('with the backend login');
    await sink.waitFor(before + 1);
    assert.equal(sink.messages[before].user, 'relay-rita');
    const removed = await cli(['account', 'relay', 'rita', 'primary', '--remove']);
    assert.match(removed.out, /relay removed/);
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    await client.login('rita', 'rita-pass');
    await client.send('MAIL FROM:<rita@example.org>');
    await client.send('RCPT TO:<sam@remote.test>');
    await client.send('DATA');
    assert.match(await client.send(message('rita@example.org', 'sam@remote.test', 'no relay') + '.'), /^550 5\.7\.1 .*not set up to send/);
    client.close();
  });
});
