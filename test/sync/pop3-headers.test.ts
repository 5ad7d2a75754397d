// Header-first fetching (issue 3, "TOP n 0 where headers suffice first"): during a first sync
// the newest messages' headers come with TOP before their bodies, so ENVELOPE, header
// fields, SEARCH and SORT on headers are answered while every RETR is still to come. What a
// header-only message serves is never wrong: RFC822.SIZE stays the LIST size, BODY[] and
// BODYSTRUCTURE fetch the body (RETR bytes) on demand, and a server whose TOP is not how
// RETR begins gets no header-first fetching at all.
import assert from 'node:assert/strict';
import { FakePop3 } from '../support/fake-pop3';
import { RawClient } from '../support/raw-client';
import { eventually, message, startSyncServer, type SyncServer } from './helpers';

const COUNT = 120; // more than one body batch (50): a backlog, so headers go first

describe('POP3 header-first fetching (TOP n 0)', function () {
  this.timeout(60000);
  let server: SyncServer;
  let fake: FakePop3;
  let userN = 0;
  const warnings: string[] = [];

  before(async () => {
    server = await startSyncServer();
    // The engine's warnings, to assert on (the test log drops them otherwise).
    (server.log as unknown as { warn: (obj: object | string, msg?: string) => void }).warn = (obj, msg) => {
      warnings.push(msg ?? String(obj));
    };
  });
  after(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    fake = new FakePop3();
    await fake.start();
    warnings.length = 0;
  });
  afterEach(async () => {
    await fake.stop();
  });

  const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.memgate.database.dataSource.query(sql, params);

  async function newAccount(): Promise<{ user: string; userId: string }> {
    const user = `h${++userN}`;
    const u = await server.memgate.store.createUser(user, 'imap-pass');
    await server.addPop3Account(user, { host: '127.0.0.1', port: fake.port, username: 'pop', password: 'pop-pass' }, { timeoutMs: 1000 });
    return { user, userId: u.id };
  }

  async function contents(userId: string): Promise<{ headers: number; bodies: number; listed: number }> {
    const [r] = await q<{ headers: string; bodies: string; listed: string }>(
      `SELECT count(c.header) AS headers, count(c.raw) AS bodies, count(*) AS listed
         FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id JOIN message_contents c ON c.id = mm.content_id
        WHERE m.user_id = $1 AND m.name = 'INBOX'`,
      [userId],
    );
    return { headers: Number(r.headers), bodies: Number(r.bodies), listed: Number(r.listed) };
  }

  function fill(): Buffer[] {
    const msgs = Array.from({ length: COUNT }, (_, i) => message(`hdr ${i + 1}`, `body of ${i + 1}\r\n${'z'.repeat(200 + i)}`));
    msgs.forEach((m, i) => fake.add(`u${i + 1}`, m));
    return msgs;
  }

  /** `* n FETCH (...)` lines keyed by UID (each response on one line up to its first literal). */
  function byUid(response: string): Map<number, string> {
    const out = new Map<number, string>();
    for (const part of response.split(/\r\n(?=\* \d+ FETCH)/)) {
      const m = /^\* \d+ FETCH \(.*?UID (\d+)/s.exec(part);
      if (m) out.set(Number(m[1]), part);
    }
    return out;
  }

  it('answers ENVELOPE, header fields, SEARCH and SORT from headers while every body is still at the server', async () => {
    const msgs = fill();
    // One RETR per session: the one that checks TOP against RETR; every later one stalls.
    fake.faults.stallRetrAfter = 1;
    const { user, userId } = await newAccount();
    await eventually(async () => (await contents(userId)).headers === COUNT, 20000, 'every header stored');
    assert.equal((await contents(userId)).bodies, 0, 'no body stored yet');
    assert.ok(fake.commands.includes(`TOP ${COUNT} 0`));

    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} imap-pass`);
    await c.command('s', 'SELECT INBOX');
    const listing = await c.command('f', 'UID FETCH 1:* (RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])', 20000);
    assert.match(listing, /^f OK/m);
    const rows = byUid(listing);
    assert.equal(rows.size, COUNT);
    for (let uid = 1; uid <= COUNT; uid++) {
      const row = rows.get(uid)!;
      // RFC822.SIZE is the LIST size, which is the length of the RETR bytes.
      assert.match(row, new RegExp(`RFC822\\.SIZE ${msgs[uid - 1].length}[ )]`));
      assert.match(row, new RegExp(`ENVELOPE \\(NIL "hdr ${uid}" `));
      assert.match(row, new RegExp(`Subject: hdr ${uid}\\r\\n\\r\\n`));
    }
    assert.equal((await contents(userId)).bodies, 0, 'answering those fetched no body');
    assert.match(await c.command('se', 'UID SEARCH SUBJECT "hdr 77"'), /^\* SEARCH 77\r\n/m);
    assert.match(await c.command('so', 'UID SORT (REVERSE SUBJECT) UTF-8 SUBJECT "hdr 11"'), /^\* SORT 119 118 117 116 115 114 113 112 111 110 11\r\n/m);
    const envelopeBefore = /ENVELOPE \(.*?\)\)\)? BODY/s.exec(rows.get(5)!)?.[0];

    // BODY[] and BODYSTRUCTURE need the body: fetched on demand, the RETR bytes exactly.
    const full = await c.command('b', 'UID FETCH 5 (BODYSTRUCTURE BODY.PEEK[])', 20000);
    assert.match(full, /^b OK/m);
    assert.ok(full.includes(`BODY[] {${msgs[4].length}}\r\n${msgs[4].toString('latin1')})`), 'BODY[] is the RETR bytes');
    assert.match(full, /BODYSTRUCTURE \("text" "plain"/i);

    fake.faults.stallRetrAfter = null;
    await eventually(async () => {
      const n = await contents(userId);
      return n.bodies === COUNT && n.headers === 0;
    }, 20000, 'every body stored, headers dropped');
    const after = await c.command('a', 'UID FETCH 5 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    assert.equal(/ENVELOPE \(.*?\)\)\)? BODY/s.exec(after)?.[0], envelopeBefore, 'the same ENVELOPE from the header and from the body');
    assert.deepEqual(warnings.filter((w) => /header|size/.test(w)), []);
    c.close();
  });

  it('fetches no header first from a server whose TOP is not how RETR begins', async () => {
    const msgs = fill();
    fake.faults.topDiffers.add(`u${COUNT}`); // the newest: the one the check compares
    const { user, userId } = await newAccount();
    await eventually(async () => (await contents(userId)).bodies === COUNT, 20000, 'every body stored');
    assert.equal(fake.commands.filter((cmd) => cmd.startsWith('TOP')).length, 1, 'one TOP (the check), then bodies only');
    const [stored] = await q<{ n: string }>(`SELECT count(*) AS n FROM message_contents WHERE user_id = $1 AND header IS NOT NULL`, [userId]);
    assert.equal(Number(stored.n), 0);
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} imap-pass`);
    await c.command('s', 'SELECT INBOX');
    const r = await c.command('f', `UID FETCH ${COUNT} BODY.PEEK[HEADER]`);
    assert.ok(!r.includes('X-Top-Only'));
    assert.ok(r.includes(msgs[COUNT - 1].toString('latin1').split('\r\n\r\n')[0]));
    c.close();
  });

  it('logs a body that does not begin with the header stored before it', async () => {
    fill();
    fake.faults.topDiffers.add('u60'); // not the newest: the check passes, this one is caught later
    const { userId } = await newAccount();
    await eventually(async () => (await contents(userId)).bodies === COUNT, 20000, 'every body stored');
    assert.ok(warnings.some((w) => /does not begin with the header/.test(w)), warnings.join('\n'));
  });
});
