// Two memgate processes on one database (the real CLI): each backend account is synced by
// exactly one of them (never two POP3 sessions at once), and when the holder is killed the
// other takes the account over after the lease expires, with UIDs unchanged. The account
// is managed with `memgate account add|status|remove` as an operator would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestStore, type TestStore } from '../support/db';
import { FakePop3 } from '../support/fake-pop3';
import { startMemgateProcess, type MemgateProcess } from '../support/process';
import { eventually, message } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');

function cli(args: string[], env: Record<string, string>, stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MEMGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

describe('backend sync across two memgate processes', function () {
  this.timeout(120000);
  let ts: TestStore;
  let fake: FakePop3;
  const procs: MemgateProcess[] = [];
  let env: Record<string, string>;

  before(async () => {
    ts = await openTestStore();
    fake = new FakePop3();
    await fake.start();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-lease-'));
    env = {
      DATABASE_URL: ts.db.url,
      MEMGATE_DATA_DIR: dataDir,
      MEMGATE_MASTER_KEY: randomBytes(32).toString('hex'),
      MEMGATE_SYNC_LEASE_SECONDS: '2',
    };
    await ts.store.createUser('lease', 'imap-pass');
  });
  after(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await fake?.stop();
    await ts?.close();
  });

  const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => ts.db.dataSource.query(sql, params);
  const inboxUids = async (): Promise<number[]> =>
    (
      await q<{ uid: number }>(
        `SELECT mm.uid FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id JOIN users u ON u.id = m.user_id
          WHERE u.name = 'lease' AND m.name = 'INBOX' ORDER BY mm.uid`,
      )
    ).map((r) => r.uid);

  it('account add refuses a server without UIDL and saves nothing', async () => {
    fake.faults.noUidl = true;
    const r = await cli(['account', 'add', 'lease', 'pop3', '--host', '127.0.0.1', '--port', String(fake.port), '--username', 'pop', '--password-stdin'], env, 'pop-pass\n');
    fake.faults.noUidl = false;
    assert.notEqual(r.code, 0);
    assert.match(r.err, /UIDL/);
    assert.equal((await q('SELECT 1 FROM account_sync')).length, 0);
  });

  it('syncs with exactly one process and fails over when it is killed', async () => {
    fake.add('u1', message('first'));
    fake.add('u2', message('second'));
    const added = await cli(
      ['account', 'add', 'lease', 'pop3', '--host', '127.0.0.1', '--port', String(fake.port), '--username', 'pop', '--password-stdin', '--poll-interval', '1s'],
      env,
      'pop-pass\n',
    );
    assert.equal(added.code, 0, added.err);
    const [stored] = await q<{ credentials: Buffer }>(`SELECT credentials FROM accounts WHERE kind = 'pop3'`);
    assert.ok(!stored.credentials.includes(Buffer.from('pop-pass')), 'the password is not stored in clear');

    procs.push(await startMemgateProcess(env));
    procs.push(await startMemgateProcess(env));
    await eventually(async () => (await inboxUids()).length === 2, 30000, 'first sync');
    const owner = async () => (await q<{ lease_owner: string | null }>('SELECT lease_owner FROM account_sync'))[0].lease_owner ?? '';
    const holderPid = Number((await owner()).split(':')[1]);
    const holder = procs.find((p) => p.child.pid === holderPid);
    assert.ok(holder, `lease owner ${await owner()} is one of the two processes`);
    // Several polls with both processes alive: never two sessions at once.
    const sessions = fake.sessions;
    await eventually(() => fake.sessions >= sessions + 3, 30000, 'more polls');
    assert.equal(fake.maxConcurrent, 1);

    await holder.stop('SIGKILL');
    procs.splice(procs.indexOf(holder), 1);
    fake.add('u3', message('third'));
    await eventually(async () => (await inboxUids()).length === 3, 30000, 'takeover');
    assert.deepEqual(await inboxUids(), [1, 2, 3]);
    const newPid = Number((await owner()).split(':')[1]);
    assert.equal(newPid, procs[0].child.pid);
    assert.equal(fake.maxConcurrent, 1);

    const status = await cli(['account', 'status', 'lease'], env);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /state: +idle/);
    assert.match(status.out, /3 shown/);
  });

  it('account remove deletes the shadow data of the account', async () => {
    const [acct] = await q<{ id: string }>(`SELECT id FROM accounts WHERE kind = 'pop3'`);
    const r = await cli(['account', 'remove', 'lease', acct.id], env);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await inboxUids(), []);
    assert.equal((await q('SELECT 1 FROM backend_messages')).length, 0);
    const list = await cli(['account', 'list'], env);
    assert.equal(list.out.trim(), '');
  });
});
