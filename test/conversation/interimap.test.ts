// Debian's interimap (an independent QRESYNC consumer: it refuses servers without QRESYNC,
// LIST-EXTENDED, LIST-STATUS and UIDPLUS) synchronises a Dovecot mailbox with a memgate
// mailbox both ways. Flag changes and expunges made on either side between runs must
// arrive on the other, and nothing else may change.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawClient } from '../support/raw-client';
import { requireDovecot, startDovecot, type DovecotInstance } from '../support/dovecot';
import { startTestServer, type TestServer } from '../support/server';

const INTERIMAP = '/usr/bin/interimap';
const MISSING = 'SKIPPED: interimap not installed (apt-get install interimap)';

function requireInterimap(ctx: Mocha.Context): void {
  if (existsSync(INTERIMAP)) return;
  if (process.env.CI) throw new Error(`interimap not found but CI is set: ${MISSING}`);
  const bar = '!'.repeat(MISSING.length);
  console.warn(`\n${bar}\n${MISSING}\n${bar}\n`);
  ctx.skip();
}

const msg = (subject: string) => `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

interface Side {
  port: number;
  user: string;
  password: string;
}

async function login(side: Side): Promise<RawClient> {
  const c = await RawClient.connect(side.port);
  const r = await c.command('l', `LOGIN ${side.user} ${side.password}`);
  assert.match(r, /^l OK/m);
  return c;
}

/** subject -> flags (sorted, without \Recent) of every message in INBOX. */
async function snapshot(side: Side): Promise<Map<string, string>> {
  const c = await login(side);
  await c.command('s', 'EXAMINE INBOX');
  const r = await c.command('f', 'FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  c.close();
  const out = new Map<string, string>();
  for (const m of r.matchAll(/FLAGS \(([^)]*)\)[^{\r\n]*\{\d+\}\r\nSubject: (\S+)/g)) {
    assert.ok(!out.has(m[2]), `duplicate message ${m[2]} on port ${side.port}`);
    out.set(m[2], m[1].split(' ').filter((f) => f !== '' && f !== '\\Recent').sort().join(' '));
  }
  return out;
}

async function run(session: Side, commands: string[]): Promise<void> {
  const c = await login(session);
  await c.command('s', 'SELECT INBOX');
  for (const [i, cmd] of commands.entries()) assert.match(await c.command(`c${i}`, cmd), new RegExp(`^c${i} OK`, 'm'), cmd);
  c.close();
}

describe('interimap between Dovecot and memgate', function () {
  this.timeout(120_000);
  let dovecot: DovecotInstance | undefined;
  let server: TestServer | undefined;
  let dir: string;
  let local: Side;
  let remote: Side;

  before(async function () {
    requireDovecot(this);
    requireInterimap(this);
    server = await startTestServer();
    const creds = await server.addUser();
    local = { port: server.port, user: creds.user, password: creds.password };
    dovecot = await startDovecot({ users: { alice: 'secret' } });
    remote = { port: dovecot.imapPort, user: 'alice', password: 'secret' };
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'memgate-interimap-'));
    const side = (s: Side) => [`type = imap`, `host = 127.0.0.1`, `port = ${s.port}`, `STARTTLS = NO`, `username = ${s.user}`, `password = ${s.password}`, `compress = NO`].join('\n');
    await fsp.writeFile(
      path.join(dir, 'config'),
      `database = ${path.join(dir, 'interimap.db')}\nlist-mailbox = INBOX\n\n[local]\n${side(local)}\n\n[remote]\n${side(remote)}\n`,
    );
  });
  after(async () => {
    await server?.stop();
    await dovecot?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  function interimap(): Promise<string> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
      execFile(INTERIMAP, [`--config=${path.join(dir, 'config')}`], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`interimap failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(`${stdout}${stderr}`);
      });
    });
  }

  it('copies both mailboxes to each other on the first run', async () => {
    await appendLiteral(local, ['l1', 'l2', 'l3']);
    await appendLiteral(remote, ['r1', 'r2', 'r3']);
    await interimap();
    const want = ['l1', 'l2', 'l3', 'r1', 'r2', 'r3'];
    assert.deepEqual([...(await snapshot(local)).keys()].sort(), want);
    assert.deepEqual([...(await snapshot(remote)).keys()].sort(), want);
  });

  it('carries flag changes and expunges made on either side, and nothing else', async () => {
    // memgate side: flag l1 and r1, expunge l2.
    await run(local, ['UID STORE 1 +FLAGS (\\Flagged)', 'STORE 4 +FLAGS ($Label1)', 'STORE 2 +FLAGS (\\Deleted)', 'EXPUNGE']);
    // Dovecot side: read r2, expunge r3.
    await run(remote, ['STORE 2 +FLAGS (\\Seen)', 'STORE 3 +FLAGS (\\Deleted)', 'EXPUNGE']);
    await interimap();
    const l = await snapshot(local);
    const r = await snapshot(remote);
    assert.deepEqual(l, r, 'both sides agree');
    assert.deepEqual([...l.keys()].sort(), ['l1', 'l3', 'r1', 'r2']);
    assert.equal(l.get('l1'), '\\Flagged');
    assert.equal(l.get('r1'), '$Label1');
    assert.equal(l.get('r2'), '\\Seen');
    assert.equal(l.get('l3'), '', 'the untouched message is untouched');
  });

  it('a run with no changes changes nothing (memgate HIGHESTMODSEQ stays)', async () => {
    const highest = async () => {
      const c = await login(local);
      const st = await c.command('st', 'STATUS INBOX (HIGHESTMODSEQ MESSAGES)');
      c.close();
      return /\(HIGHESTMODSEQ (\d+) MESSAGES (\d+)\)/.exec(st)!.slice(1).join('/');
    };
    const before = await highest();
    const snapLocal = await snapshot(local);
    const snapRemote = await snapshot(remote);
    await interimap();
    assert.equal(await highest(), before);
    assert.deepEqual(await snapshot(local), snapLocal);
    assert.deepEqual(await snapshot(remote), snapRemote);
  });

  /** APPEND with a synchronising literal (works with any server). */
  async function appendLiteral(side: Side, subjects: string[]): Promise<void> {
    const c = await login(side);
    for (const [i, s] of subjects.entries()) {
      const m = msg(s);
      c.write(`a${i} APPEND INBOX {${m.length}}\r\n`);
      assert.match(await c.readLine(), /^\+/);
      c.write(`${m}\r\n`);
      assert.match(await c.untilTagged(`a${i}`), new RegExp(`^a${i} OK`, 'm'));
    }
    c.close();
  }
});
