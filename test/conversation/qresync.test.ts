// QRESYNC (RFC 7162 3.2) over TCP: SELECT/EXAMINE (QRESYNC ...) with VANISHED (EARLIER) and
// the changed FETCHes, UID FETCH (CHANGEDSINCE n VANISHED), VANISHED for expunges, [CLOSED],
// answers once the expunge log is trimmed, OBJECTID, and imapflow with `qresync: true`.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import type { StoreMaintenance } from '../../src/core/ports';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const msg = (n: number) => `Subject: m${n}\r\n\r\nbody ${n}\r\n`;

describe('QRESYNC', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  async function login(creds: { user: string; password: string }): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    return c;
  }

  /** A fresh user with `n` messages in INBOX (uids 1..n, modseqs 2..n+1). */
  async function fresh(n: number) {
    const creds = await server.addUser();
    const c = await login(creds);
    for (let i = 1; i <= n; i++) await c.command(`a${i}`, `APPEND INBOX {${msg(i).length}+}\r\n${msg(i)}`);
    const r = await c.command('st', 'STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ MAILBOXID)');
    const m = /UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+) MAILBOXID \((M\d+)\)/.exec(r)!;
    c.close();
    return { creds, uidValidity: Number(m[1]), modseq: Number(m[2]), mailboxId: m[3] };
  }

  /** The part of a SELECT answer from HIGHESTMODSEQ on (the rest is plain SELECT). */
  const tail = (r: string) => r.slice(r.indexOf('* OK [HIGHESTMODSEQ'));

  /** The changes of the RFC 7162 3.2.5 scenario, made by another client while we are away. */
  async function changeWhileAway(creds: { user: string; password: string }): Promise<void> {
    const b = await login(creds);
    await b.command('s', 'SELECT INBOX');
    await b.command('f1', 'STORE 2 +FLAGS (\\Seen)'); // uid 2, modseq 12
    await b.command('f2', 'STORE 4 +FLAGS ($Work)'); // uid 4, modseq 13
    await b.command('f3', 'STORE 3,5,7 +FLAGS (\\Deleted)'); // 14
    await b.command('x', 'EXPUNGE'); // uids 3, 5, 7: modseq 15
    await b.command('a', `APPEND INBOX {${msg(11).length}+}\r\n${msg(11)}`); // uid 11, modseq 16
    b.close();
  }

  it('needs ENABLE QRESYNC first; QRESYNC implies CONDSTORE', async () => {
    const { creds, uidValidity } = await fresh(1);
    const c = await login(creds);
    assert.match(await c.command('b', `SELECT INBOX (QRESYNC (${uidValidity} 1))`), /^b BAD \[CLIENTBUG\]/m);
    assert.equal(await c.command('e', 'ENABLE QRESYNC'), '* ENABLED QRESYNC\r\ne OK ENABLE completed\r\n');
    assert.equal(await c.command('e2', 'ENABLE CONDSTORE'), '* ENABLED\r\ne2 OK ENABLE completed\r\n');
    for (const bad of [
      'SELECT INBOX (QRESYNC)',
      'SELECT INBOX (QRESYNC (0 1))',
      `SELECT INBOX (QRESYNC (${uidValidity}))`,
      `SELECT INBOX (QRESYNC (${uidValidity} 1 1:5 (1:3 1:2)))`,
      `SELECT INBOX (QRESYNC (${uidValidity} 1 1:* (1:* 1:*)))`,
      'SELECT INBOX (FOO)',
      'SELECT INBOX (CONDSTORE CONDSTORE)',
    ]) {
      assert.match(await c.command('b', bad), /^b BAD /m, bad);
    }
    c.close();
  });

  it('SELECT (QRESYNC (uidvalidity modseq)) answers VANISHED (EARLIER) and the changed FETCHes', async () => {
    const { creds, uidValidity, modseq, mailboxId } = await fresh(10);
    assert.equal(modseq, 11);
    await changeWhileAway(creds);
    const c = await login(creds);
    await c.command('e', 'ENABLE QRESYNC');
    const r = await c.command('s', `SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`);
    assert.match(r, /^\* 8 EXISTS\r$/m);
    assert.match(r, /^\* OK \[UIDNEXT 12\] /m);
    assert.equal(
      tail(r),
      '* OK [HIGHESTMODSEQ 16] Highest\r\n' +
        `* OK [MAILBOXID (${mailboxId})] Ok\r\n` +
        '* VANISHED (EARLIER) 3,5,7\r\n' +
        '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n' +
        '* 3 FETCH (UID 4 FLAGS ($Work) MODSEQ (13))\r\n' +
        '* 8 FETCH (UID 11 FLAGS () MODSEQ (16))\r\n' +
        's OK [READ-WRITE] SELECT completed\r\n',
    );
    // known-uids restricts both; EXAMINE works the same; [CLOSED] ends the previous mailbox.
    const e = await c.command('x', `EXAMINE INBOX (QRESYNC (${uidValidity} ${modseq} 1:4))`);
    assert.ok(e.startsWith('* OK [CLOSED] Previous mailbox closed\r\n'), e);
    assert.equal(
      tail(e),
      '* OK [HIGHESTMODSEQ 16] Highest\r\n' +
        `* OK [MAILBOXID (${mailboxId})] Ok\r\n` +
        '* VANISHED (EARLIER) 3\r\n' +
        '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n' +
        '* 3 FETCH (UID 4 FLAGS ($Work) MODSEQ (13))\r\n' +
        'x OK [READ-ONLY] EXAMINE completed\r\n',
    );
    // Nothing changed since 16: nothing to report.
    assert.equal(tail(await c.command('y', `SELECT INBOX (QRESYNC (${uidValidity} 16))`)), `* OK [HIGHESTMODSEQ 16] Highest\r\n* OK [MAILBOXID (${mailboxId})] Ok\r\ny OK [READ-WRITE] SELECT completed\r\n`);
    // Another UIDVALIDITY: a plain SELECT (the client must resync from scratch).
    assert.equal(
      tail(await c.command('z', `SELECT INBOX (QRESYNC (${uidValidity + 1} ${modseq}))`)),
      `* OK [HIGHESTMODSEQ 16] Highest\r\n* OK [MAILBOXID (${mailboxId})] Ok\r\nz OK [READ-WRITE] SELECT completed\r\n`,
    );
    c.close();
  });

  it('UID FETCH (CHANGEDSINCE n VANISHED) reports expunged UIDs first (RFC 7162 3.2.6)', async () => {
    const { creds, modseq } = await fresh(10);
    await changeWhileAway(creds);
    const c = await login(creds);
    await c.command('e', 'ENABLE QRESYNC');
    await c.command('s', 'SELECT INBOX');
    assert.equal(
      await c.command('f', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`),
      '* VANISHED (EARLIER) 3,5,7\r\n' +
        '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n' +
        '* 3 FETCH (UID 4 FLAGS ($Work) MODSEQ (13))\r\n' +
        '* 8 FETCH (UID 11 FLAGS () MODSEQ (16))\r\n' +
        'f OK UID FETCH completed\r\n',
    );
    assert.equal(
      await c.command('g', `UID FETCH 4:6 (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`),
      '* VANISHED (EARLIER) 5\r\n* 3 FETCH (UID 4 FLAGS ($Work) MODSEQ (13))\r\ng OK UID FETCH completed\r\n',
    );
    assert.match(await c.command('b', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`), /^b BAD /m);
    assert.match(await c.command('b2', 'UID FETCH 1:* (FLAGS) (VANISHED)'), /^b2 BAD /m);
    c.close();
  });

  it('expunges are VANISHED, not EXPUNGE: own EXPUNGE, UID EXPUNGE, MOVE, and others\' changes', async () => {
    const { creds } = await fresh(6);
    const c = await login(creds);
    await c.command('e', 'ENABLE QRESYNC');
    await c.command('s', 'SELECT INBOX');
    await c.command('d', 'STORE 2,3 +FLAGS.SILENT (\\Deleted)');
    assert.equal(await c.command('x', 'EXPUNGE'), '* VANISHED 2:3\r\nx OK EXPUNGE completed\r\n');
    await c.command('cr', 'CREATE Other');
    const mv = await c.command('m', 'UID MOVE 5 Other');
    assert.match(mv, /^\* OK \[COPYUID \d+ 5 1\] Moved\r\n\* VANISHED 5\r\nm OK MOVE completed\r\n$/);
    // Another client expunges: a later command (here NOOP) reports it as VANISHED.
    const b = await login(creds);
    await b.command('s', 'SELECT INBOX');
    await b.command('d', 'UID STORE 6 +FLAGS.SILENT (\\Deleted)');
    await b.command('x', 'UID EXPUNGE 6');
    b.close();
    assert.equal(await c.command('n', 'NOOP'), '* VANISHED 6\r\nn OK NOOP completed\r\n');
    // And the own flag changes of a QRESYNC session carry UID and MODSEQ.
    assert.match(await c.command('f', 'STORE 1 +FLAGS (\\Seen)'), /^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)\r$/m);
    c.close();
  });

  it('once the expunge log is trimmed, reports every UID that may have gone, narrowed by seq-match-data', async () => {
    const { creds, uidValidity } = await fresh(6);
    const c = await login(creds);
    await c.command('e', 'ENABLE QRESYNC');
    await c.command('s', 'SELECT INBOX');
    await c.command('d', 'UID STORE 1 +FLAGS.SILENT (\\Deleted)');
    await c.command('x', 'EXPUNGE'); // uid 1 gone before the client's state
    const r = await c.command('f', 'FETCH 1 (MODSEQ)');
    const known = Number(/HIGHESTMODSEQ (\d+)/.exec(await c.command('st', 'STATUS INBOX (HIGHESTMODSEQ)'))![1]);
    assert.match(r, /MODSEQ/);
    await c.command('d2', 'UID STORE 4 +FLAGS.SILENT (\\Deleted)');
    await c.command('x2', 'EXPUNGE'); // uid 4 gone after it
    c.close();
    // Complete log: exactly uid 4.
    const q = await login(creds);
    await q.command('e', 'ENABLE QRESYNC');
    assert.match(await q.command('s', `SELECT INBOX (QRESYNC (${uidValidity} ${known}))`), /^\* VANISHED \(EARLIER\) 4\r$/m);
    // Trim everything: the server no longer knows which UIDs went when.
    const trimmed = await (server.memgate.store as unknown as StoreMaintenance).trimExpungeLog(new Date(Date.now() + 60_000));
    assert.ok(trimmed >= 2);
    assert.match(await q.command('s2', `SELECT INBOX (QRESYNC (${uidValidity} ${known}))`), /^\* VANISHED \(EARLIER\) 1,4\r$/m);
    // The client's view was uids 2..6 at seqs 1..5: pairs proving seqs 1-2 let the server skip uid 1.
    assert.match(await q.command('s3', `SELECT INBOX (QRESYNC (${uidValidity} ${known} (1:2,4 2:3,5)))`), /^\* VANISHED \(EARLIER\) 4\r$/m);
    assert.match(await q.command('s4', `SELECT INBOX (QRESYNC (${uidValidity} ${known} 2:6))`), /^\* VANISHED \(EARLIER\) 4\r$/m);
    q.close();
  });

  it('OBJECTID: MAILBOXID stable across RENAME, EMAILID across MOVE, THREADID NIL, SEARCH EMAILID', async () => {
    const { creds } = await fresh(1);
    const c = await login(creds);
    const created = await c.command('c', 'CREATE Projects');
    const id = /^c OK \[MAILBOXID \((M\d+)\)\] /m.exec(created)![1];
    await c.command('r', 'RENAME Projects Archive2024');
    assert.match(await c.command('st', 'STATUS Archive2024 (MAILBOXID)'), new RegExp(`^\\* STATUS Archive2024 \\(MAILBOXID \\(${id}\\)\\)`, 'm'));
    assert.match(await c.command('ls', 'LIST "" Archive2024 RETURN (STATUS (MAILBOXID))'), new RegExp(`MAILBOXID \\(${id}\\)`));
    await c.command('s', 'SELECT INBOX');
    const f = await c.command('f', 'FETCH 1 (EMAILID THREADID)');
    const emailId = /EMAILID \((E\d+)\) THREADID NIL/.exec(f)![1];
    assert.equal(await c.command('se', `UID SEARCH EMAILID ${emailId}`), '* SEARCH 1\r\nse OK UID SEARCH completed\r\n');
    assert.equal(await c.command('sn', 'UID SEARCH THREADID T1'), '* SEARCH\r\nsn OK UID SEARCH completed\r\n');
    await c.command('m', 'MOVE 1 Archive2024');
    const s = await c.command('s2', 'SELECT Archive2024');
    assert.match(s, new RegExp(`^\\* OK \\[MAILBOXID \\(${id}\\)\\] `, 'm'));
    assert.match(await c.command('f2', 'FETCH 1 (EMAILID)'), new RegExp(`^\\* 1 FETCH \\(EMAILID \\(${emailId}\\)\\)`, 'm'));
    c.close();
  });

  it('imapflow with qresync: true resyncs a mailbox by QRESYNC', async () => {
    const { creds, uidValidity, modseq } = await fresh(10);
    await changeWhileAway(creds);
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: creds.user, pass: creds.password },
      logger: false,
      qresync: true,
    });
    const vanished: number[] = [];
    const flags: Array<[number, string[], string]> = [];
    client.on('expunge', (e: { uid?: number; vanished?: boolean }) => {
      if (e.uid !== undefined) vanished.push(e.uid);
    });
    client.on('flags', (e: { uid?: number; flags: Set<string>; modseq?: bigint }) => {
      flags.push([e.uid ?? 0, [...e.flags], String(e.modseq)]);
    });
    await client.connect();
    try {
      assert.ok(client.enabled.has('QRESYNC'), 'imapflow enabled QRESYNC');
      const box = await client.mailboxOpen('INBOX', { changedSince: BigInt(modseq), uidValidity: BigInt(uidValidity) });
      assert.equal(box.highestModseq, 16n);
      assert.equal(box.exists, 8);
      assert.deepEqual(vanished.sort((a, b) => a - b), [3, 5, 7]);
      assert.deepEqual(flags, [
        [2, ['\\Seen'], '12'],
        [4, ['$Work'], '13'],
        [11, [], '16'],
      ]);
      // Expunges while open arrive as VANISHED with UIDs.
      vanished.length = 0;
      await client.messageFlagsAdd('1', ['\\Deleted'], { uid: true });
      await client.messageDelete('1', { uid: true });
      assert.deepEqual(vanished, [1]);
    } finally {
      await client.logout().catch(() => undefined);
    }
  });
});
