// `memgate account add <user> gmail --address ... --service-account KEY.json` through the
// real CLI against a running memgate and the Gmail emulator: the key is checked and saved
// encrypted, the running gateway syncs the Workspace user's mail to IMAP, an address
// outside the delegation is refused with what to do and nothing saved, and a delegation
// withdrawn later puts the account in "needs new credentials".
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { mime } from '../support/gmail';
import { eventually, startSyncServer, type SyncServer } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');
const SA = 'gateway@memgate-test.iam.gserviceaccount.com';
const USER = 'carol@corp.example';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MEMGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('Gmail through a service account with domain-wide delegation (real CLI, running memgate)', function () {
  this.timeout(60000);
  let emu: GmailEmulator;
  let server: SyncServer;
  let keyFile: string;
  let env: Record<string, string>;

  before(async () => {
    emu = await startGmailEmulator({ users: [USER, 'dave@other.example'] });
    const key = emu.state.auth.addServiceAccount(SA, ['corp.example']);
    keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-sa-')), 'key.json');
    fs.writeFileSync(keyFile, JSON.stringify(key, null, 2));
    server = await startSyncServer();
    await server.memgate.store.createUser('alice', 'imap-pass');
    env = { DATABASE_URL: server.databaseUrl, MEMGATE_DATA_DIR: server.dataDir };
  });
  after(async () => {
    await server?.stop();
    await emu?.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  const args = (address: string): string[] => [
    'account', 'add', 'alice', 'gmail', '--address', address, '--service-account', keyFile, '--api-url', emu.rootUrl, '--poll-interval', '1s',
  ];
  const gmailRows = async (): Promise<Array<{ id: string; settings: Record<string, unknown>; credentials: Buffer }>> =>
    server.memgate.database.dataSource.query(`SELECT id, settings, credentials FROM accounts WHERE kind = 'gmail'`);

  it('refuses an address outside the delegation, says what the admin must do, saves nothing', async () => {
    const r = await cli(args('dave@other.example'), env);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /may not act as dave@other.example/);
    assert.match(r.err, /domain-wide delegation/);
    assert.match(r.err, /nothing was saved/);
    assert.equal((await gmailRows()).length, 0);
  });

  it('adds the account with the key encrypted; the running gateway syncs it; a withdrawn delegation needs new credentials', async () => {
    emu.state.deliver(USER, mime({ subject: 'quarterly report' }));
    const r = await cli(args(USER), env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`\\(${USER}, as service account ${SA}\\) added to alice`));
    const [row] = await gmailRows();
    assert.equal(row.settings.serviceAccountEmail, SA);
    assert.equal(row.settings.tokenUrl, emu.tokenUrl, 'the token URL comes from the key file');
    assert.ok(!Buffer.from(row.credentials).toString('latin1').includes('PRIVATE KEY'), 'no private key in the clear');

    const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'imap-pass' }, logger: false });
    await client.connect();
    try {
      await eventually(async () => {
        const st = await client.status('INBOX', { messages: true });
        return st && st.messages === 1;
      }, 20000, 'the message in INBOX');
      await client.mailboxOpen('INBOX');
      const m = await client.fetchOne('1', { envelope: true, source: true });
      assert.ok(m && m.envelope?.subject === 'quarterly report');
    } finally {
      await client.logout().catch(() => undefined);
    }

    emu.state.auth.setDelegation(SA, { domains: [], scopes: [] });
    emu.faults.expireTokens(USER);
    const failed = await eventually(async () => {
      const a = await server.sync.account(row.id);
      return a?.state === 'auth' ? a : null;
    }, 20000, 'the account in state auth');
    assert.match(failed.reason ?? '', /^needs new credentials: .*domain-wide delegation/);
  });
});
