// `memgate account add <user> gmail --address ...` through the real CLI against the Gmail
// emulator: the CLI prints where to go and the code, waits while the user consents, checks
// the grant's address, and saves the refresh token encrypted (never in the clear).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { DEFAULT_CLIENT } from '../emulators/gmail/state';
import { openTestStore, type TestStore } from '../support/db';
import { GMAIL_USER } from '../support/gmail';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');

interface Run {
  out: () => string;
  done: Promise<{ code: number | null; out: string; err: string }>;
}

function cli(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MEMGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err }))) };
}

describe('memgate account add ... gmail (device flow, real CLI)', function () {
  this.timeout(60000);
  let ts: TestStore;
  let emu: GmailEmulator;
  let env: Record<string, string>;

  before(async () => {
    ts = await openTestStore();
    emu = await startGmailEmulator({ users: [GMAIL_USER, 'bob@example.com'] });
    emu.state.auth.deviceInterval = 0; // the CLI may poll at once
    env = {
      DATABASE_URL: ts.db.url,
      MEMGATE_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-gmail-cli-')),
      MEMGATE_MASTER_KEY: randomBytes(32).toString('hex'),
      MEMGATE_GMAIL_CLIENT_ID: DEFAULT_CLIENT.clientId,
      MEMGATE_GMAIL_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    };
    await ts.store.createUser('alice', 'imap-pass');
  });
  after(async () => {
    await emu?.stop();
    await ts?.close();
  });

  const args = (address: string): string[] => [
    'account', 'add', 'alice', 'gmail', '--address', address,
    '--api-url', emu.rootUrl, '--token-url', emu.tokenUrl, '--device-url', emu.deviceCodeUrl, '--poll-interval', '5s',
  ];

  async function consent(run: Run, as: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const code = /enter the code ([A-Z0-9-]+)/.exec(run.out())?.[1];
      if (code) {
        assert.match(run.out(), new RegExp(`open ${emu.state.baseUrl}/device`));
        assert.equal(emu.state.auth.approveDevice(code, as), true);
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`the CLI printed no code: ${run.out()}`);
  }

  it('refuses a grant for another address and saves nothing', async () => {
    const run = cli(args(GMAIL_USER), env);
    await consent(run, 'bob@example.com');
    const r = await run.done;
    assert.notEqual(r.code, 0);
    assert.match(r.err, /grant is for bob@example.com/);
    assert.equal((await ts.db.dataSource.query(`SELECT 1 FROM accounts WHERE kind = 'gmail'`)).length, 0);
  });

  it('prints where to consent, waits, and saves the account with its refresh token encrypted', async () => {
    const run = cli(args(GMAIL_USER), env);
    await consent(run, GMAIL_USER);
    const r = await run.done;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /account \d+ \(alice@example.com\) added to alice/);
    const [row] = await ts.db.dataSource.query(`SELECT settings, credentials FROM accounts WHERE kind = 'gmail'`);
    assert.equal(row.settings.address, GMAIL_USER);
    assert.equal(row.settings.apiRootUrl, emu.rootUrl);
    assert.equal(row.settings.pollIntervalSeconds, 5);
    assert.ok(!Buffer.from(row.credentials).toString('latin1').includes('1//'), 'no refresh token in the clear');
    const list = await cli(['account', 'list', 'alice'], env).done;
    assert.match(list.out, /gmail\t\(primary\)\talice@example.com/);
  });
});
