// CONDSTORE (RFC 7162 3.1) over TCP, byte for byte where the RFC fixes the bytes. Each test
// has its own user, so modseqs are predictable: INBOX starts at 1 and every APPEND, STORE
// that changes something, EXPUNGE, COPY and MOVE takes the next one.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const msg = (n: number) => `Subject: m${n}\r\n\r\nbody ${n}\r\n`;

describe('CONDSTORE', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  /** A logged-in connection of a fresh user whose INBOX holds `n` messages (modseqs 2..n+1). */
  async function fresh(n: number): Promise<{ c: RawClient; user: string; password: string }> {
    const creds = await server.addUser();
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    for (let i = 1; i <= n; i++) await c.command(`a${i}`, `APPEND INBOX {${msg(i).length}+}\r\n${msg(i)}`);
    return { c, ...creds };
  }

  async function second(user: string, password: string): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${user} ${password}`);
    return c;
  }

  it('is advertised with QRESYNC and OBJECTID, and ENABLE turns it on', async () => {
    const { c } = await fresh(0);
    assert.match(await c.command('c', 'CAPABILITY'), /^\* CAPABILITY .* CONDSTORE QRESYNC OBJECTID/m);
    assert.equal(await c.command('e', 'ENABLE CONDSTORE'), '* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n');
    assert.equal(await c.command('e2', 'ENABLE CONDSTORE QRESYNC'), '* ENABLED QRESYNC\r\ne2 OK ENABLE completed\r\n');
    c.close();
  });

  it('SELECT always reports HIGHESTMODSEQ; SELECT (CONDSTORE) turns MODSEQ on in STORE answers', async () => {
    const { c } = await fresh(3);
    assert.match(await c.command('s', 'SELECT INBOX'), /^\* OK \[HIGHESTMODSEQ 4\] /m);
    // Plain STORE: no MODSEQ yet.
    assert.equal(await c.command('f', 'STORE 1 +FLAGS (\\Seen)'), '* 1 FETCH (FLAGS (\\Seen))\r\nf OK STORE completed\r\n');
    const r = await c.command('s2', 'SELECT INBOX (CONDSTORE)');
    assert.match(r, /^\* OK \[HIGHESTMODSEQ 5\] /m);
    assert.match(r, /^s2 OK \[READ-WRITE\]/m);
    assert.equal(
      await c.command('f2', 'STORE 2 +FLAGS (\\Flagged)'),
      '* 2 FETCH (FLAGS (\\Flagged) MODSEQ (6))\r\nf2 OK STORE completed\r\n',
    );
    c.close();
  });

  it('FETCH MODSEQ is an enabling command: HIGHESTMODSEQ is announced once (RFC 7162 3.1)', async () => {
    const { c } = await fresh(2);
    await c.command('s', 'SELECT INBOX');
    assert.equal(
      await c.command('f', 'FETCH 1:2 (MODSEQ)'),
      '* OK [HIGHESTMODSEQ 3] Highest\r\n* 1 FETCH (MODSEQ (2))\r\n* 2 FETCH (MODSEQ (3))\r\nf OK FETCH completed\r\n',
    );
    assert.equal(await c.command('g', 'UID FETCH 2 (MODSEQ FLAGS)'), '* 2 FETCH (UID 2 MODSEQ (3) FLAGS ())\r\ng OK UID FETCH completed\r\n');
    c.close();
  });

  it('FETCH (CHANGEDSINCE n) answers only changed messages, with MODSEQ (RFC 7162 3.1.4.1)', async () => {
    const { c } = await fresh(4);
    await c.command('s', 'SELECT INBOX');
    await c.command('f1', 'STORE 2 +FLAGS.SILENT (\\Answered)'); // modseq 6
    await c.command('f2', 'STORE 4 +FLAGS.SILENT ($Work)'); // modseq 7
    assert.equal(
      await c.command('x', 'UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)'),
      '* OK [HIGHESTMODSEQ 7] Highest\r\n' +
        '* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (6))\r\n' +
        '* 4 FETCH (UID 4 FLAGS ($Work) MODSEQ (7))\r\n' +
        'x OK UID FETCH completed\r\n',
    );
    assert.equal(await c.command('y', 'FETCH 1:* (UID) (CHANGEDSINCE 7)'), 'y OK FETCH completed\r\n');
    assert.match(await c.command('b', 'FETCH 1 (FLAGS) (CHANGEDSINCE x)'), /^b BAD/m);
    assert.match(await c.command('b2', 'FETCH 1 (FLAGS) (FOO 1)'), /^b2 BAD/m);
    assert.match(await c.command('b3', 'UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)'), /^b3 BAD .*QRESYNC/m);
    c.close();
  });

  it('STORE (UNCHANGEDSINCE n) refuses changed messages with [MODIFIED] (RFC 7162 3.1.3 examples)', async () => {
    const { c, user, password } = await fresh(5);
    await c.command('e', 'ENABLE CONDSTORE');
    await c.command('s', 'SELECT INBOX');
    // Another client changes message 3 after we read modseq 6.
    const other = await second(user, password);
    await other.command('s', 'SELECT INBOX');
    await other.command('f', 'STORE 3 +FLAGS (\\Seen)'); // modseq 7
    other.close();
    // UID STORE .SILENT: the stored ones still get FETCH (UID MODSEQ), the refused one is named.
    const r = await c.command('u', 'UID STORE 1,3,4 (UNCHANGEDSINCE 6) +FLAGS.SILENT (\\Deleted)');
    assert.equal(
      r,
      '* 1 FETCH (UID 1 MODSEQ (8))\r\n' +
        '* 4 FETCH (UID 4 MODSEQ (8))\r\n' +
        '* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (7))\r\n' +
        'u OK [MODIFIED 3] Conditional STORE failed\r\n',
    );
    // Sequence-number STORE: MODIFIED holds sequence numbers; UNCHANGEDSINCE 0 always fails.
    assert.equal(await c.command('z', 'STORE 2,5 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)'), 'z OK [MODIFIED 2,5] Conditional STORE failed\r\n');
    assert.equal(
      await c.command('w', 'STORE 5 (UNCHANGEDSINCE 8) FLAGS (\\Flagged)'),
      '* 5 FETCH (FLAGS (\\Flagged) MODSEQ (9))\r\nw OK STORE completed\r\n',
    );
    assert.match(await c.command('b', 'STORE 1 (UNCHANGEDSINCE) +FLAGS (\\Seen)'), /^b BAD/m);
    assert.match(await c.command('b2', 'STORE 1 (FOO 3) +FLAGS (\\Seen)'), /^b2 BAD/m);
    c.close();
  });

  it('SEARCH MODSEQ adds the highest MODSEQ of what it returns (RFC 7162 3.1.5, RFC 4731 3.2)', async () => {
    const { c } = await fresh(4);
    await c.command('s', 'SELECT INBOX');
    await c.command('f1', 'STORE 1 +FLAGS.SILENT (\\Seen)'); // 6
    await c.command('f2', 'STORE 3 +FLAGS.SILENT (\\Seen)'); // 7
    await c.command('f3', 'STORE 2 +FLAGS.SILENT (\\Seen)'); // 8
    assert.equal(await c.command('a', 'SEARCH MODSEQ 7'), '* OK [HIGHESTMODSEQ 8] Highest\r\n* SEARCH 2 3 (MODSEQ 8)\r\na OK SEARCH completed\r\n');
    assert.equal(await c.command('b', 'UID SEARCH MODSEQ "/flags/\\\\seen" all 9'), '* SEARCH\r\nb OK UID SEARCH completed\r\n');
    assert.equal(
      await c.command('m', 'SEARCH RETURN (MIN) 1:3 MODSEQ "/flags/\\\\seen" all 1'),
      '* ESEARCH (TAG "m") MIN 1 MODSEQ 6\r\nm OK SEARCH completed\r\n',
    );
    assert.equal(
      await c.command('n', 'SEARCH RETURN (MIN MAX) 2:3 MODSEQ 1'),
      '* ESEARCH (TAG "n") MIN 2 MAX 3 MODSEQ 8\r\nn OK SEARCH completed\r\n',
    );
    assert.equal(
      await c.command('o', 'SEARCH RETURN () 1:3 MODSEQ 1'),
      '* ESEARCH (TAG "o") ALL 1:3 MODSEQ 8\r\no OK SEARCH completed\r\n',
    );
    assert.equal(await c.command('p', 'SEARCH RETURN (ALL) 2:3 MODSEQ 9'), '* ESEARCH (TAG "p")\r\np OK SEARCH completed\r\n');
    c.close();
  });

  it('STATUS HIGHESTMODSEQ rises with every change, also COPY and MOVE in and out', async () => {
    const { c } = await fresh(2);
    await c.command('cr', 'CREATE Other');
    const status = async (name: string) => {
      const r = await c.command('st', `STATUS ${name} (HIGHESTMODSEQ)`);
      return Number(new RegExp(`^\\* STATUS ${name} \\(HIGHESTMODSEQ (\\d+)\\)`, 'm').exec(r)![1]);
    };
    assert.equal(await status('INBOX'), 3);
    await c.command('s', 'SELECT INBOX');
    const inbox: number[] = [3];
    const other: number[] = [await status('Other')];
    const check = async (what: string, inboxMoves: boolean, otherMoves: boolean) => {
      const i = await status('INBOX');
      const o = await status('Other');
      assert.equal(i > inbox[inbox.length - 1], inboxMoves, `${what}: INBOX ${i}`);
      assert.equal(o > other[other.length - 1], otherMoves, `${what}: Other ${o}`);
      inbox.push(i);
      other.push(o);
    };
    await c.command('f', 'STORE 1 +FLAGS (\\Seen)');
    await check('STORE', true, false);
    await c.command('cp', 'COPY 1 Other');
    await check('COPY', false, true);
    await c.command('mv', 'MOVE 2 Other');
    await check('MOVE', true, true);
    await c.command('d', 'STORE 1 +FLAGS (\\Deleted)');
    await c.command('x', 'EXPUNGE');
    await check('STORE+EXPUNGE', true, false);
    await c.command('ap', `APPEND Other {${msg(9).length}+}\r\n${msg(9)}`);
    await check('APPEND', false, true);
    c.close();
  });

  it('once enabled, flag changes from another connection arrive with MODSEQ', async () => {
    const { c, user, password } = await fresh(2);
    await c.command('s', 'SELECT INBOX (CONDSTORE)');
    const other = await second(user, password);
    await other.command('s', 'SELECT INBOX');
    await other.command('f', 'STORE 2 +FLAGS (\\Flagged)'); // modseq 4
    assert.equal(await c.command('n', 'NOOP'), '* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (4))\r\nn OK NOOP completed\r\n');
    other.close();
    c.close();
  });
});
