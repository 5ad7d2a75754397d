// Mailbox and message operations through the raw client: exact responses per RFC 9051.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const MESSAGE = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nbody text\r\n';

async function login(server: TestServer): Promise<RawClient> {
  const { user, password } = await server.addUser();
  const c = await RawClient.connect(server.port);
  await c.command('l', `LOGIN ${user} ${password}`);
  return c;
}

function append(c: RawClient, tag: string, mailbox: string, body = MESSAGE, flags = ''): Promise<string> {
  return c.command(tag, `APPEND ${mailbox} ${flags ? `(${flags}) ` : ''}{${Buffer.byteLength(body)}+}\r\n${body}`);
}

describe('mailboxes and messages', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  it('SELECT reports EXISTS, FLAGS, PERMANENTFLAGS, UIDVALIDITY, UIDNEXT and READ-WRITE', async () => {
    const c = await login(server);
    const r = await c.command('s', 'SELECT INBOX');
    assert.match(r, /^\* 0 EXISTS/m);
    assert.match(r, /^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft\)/m);
    assert.match(r, /^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]/m);
    assert.match(r, /^\* OK \[UIDVALIDITY \d+\]/m);
    assert.match(r, /^\* OK \[UIDNEXT 1\]/m);
    assert.match(r, /^s OK \[READ-WRITE\]/m);
    const e = await c.command('e', 'EXAMINE INBOX');
    assert.match(e, /^e OK \[READ-ONLY\]/m);
    assert.match(await c.command('x', 'SELECT Nowhere'), /^x NO \[NONEXISTENT\]/m);
    c.close();
  });

  it('APPEND answers APPENDUID with ascending UIDs; MULTIAPPEND gives a UID set', async () => {
    const c = await login(server);
    const r1 = await append(c, 'a1', 'INBOX', MESSAGE, '\\Seen');
    const m1 = /APPENDUID (\d+) (\d+)/.exec(r1);
    assert.ok(m1, r1);
    const body2 = 'Subject: two\r\n\r\nx\r\n';
    const r2 = await c.command(
      'a2',
      `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE} (\\Flagged) "01-Jan-2020 10:00:00 +0100" {${body2.length}+}\r\n${body2}`,
    );
    const m2 = /APPENDUID (\d+) (\d+):(\d+)/.exec(r2);
    assert.ok(m2, r2);
    assert.equal(m2[1], m1[1]);
    assert.equal(Number(m2[2]), Number(m1[2]) + 1);
    assert.equal(Number(m2[3]), Number(m1[2]) + 2);
    assert.match(await append(c, 'a3', 'Missing'), /^a3 NO \[TRYCREATE\]/m);
    const s = await c.command('s', 'SELECT INBOX');
    assert.match(s, /^\* 3 EXISTS/m);
    c.close();
  });

  it('APPEND with a synchronizing literal waits for the continuation', async () => {
    const c = await login(server);
    c.write(`a APPEND INBOX {${MESSAGE.length}}\r\n`);
    assert.match(await c.readLine(), /^\+ /);
    c.write(MESSAGE + '\r\n');
    assert.match(await c.untilTagged('a'), /^a OK \[APPENDUID/m);
    c.close();
  });

  it('STORE changes flags and answers FETCH; .SILENT answers nothing; keywords are kept', async () => {
    const c = await login(server);
    await append(c, 'a', 'INBOX');
    await append(c, 'b', 'INBOX');
    await c.command('s', 'SELECT INBOX');
    const r = await c.command('t', 'STORE 1:2 +FLAGS (\\Seen $Forwarded)');
    assert.match(r, /^\* 1 FETCH \(FLAGS \((?=.*\\Seen)(?=.*\$Forwarded)[^)]*\)\)/m);
    assert.match(r, /^\* 2 FETCH/m);
    const silent = await c.command('u', 'STORE 1 -FLAGS.SILENT (\\Seen)');
    assert.doesNotMatch(silent, /FETCH/);
    const uid = await c.command('v', 'UID STORE 1:* FLAGS (\\Flagged)');
    assert.match(uid, /^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\)\)/m);
    assert.match(await c.command('w', 'STORE 1 +FLAGS (\\Recent)'), /^w BAD/m);
    assert.match(await c.command('x', 'STORE 5 +FLAGS (\\Seen)'), /^x BAD/m);
    c.close();
  });

  it('EXPUNGE removes \\Deleted messages with descending-safe EXPUNGE responses', async () => {
    const c = await login(server);
    for (const t of ['a', 'b', 'c', 'd']) await append(c, t, 'INBOX');
    await c.command('s', 'SELECT INBOX');
    await c.command('t', 'STORE 2:3 +FLAGS.SILENT (\\Deleted)');
    const r = await c.command('x', 'EXPUNGE');
    const lines = r.split('\r\n').filter((l) => /EXPUNGE$/.test(l));
    assert.deepEqual(lines, ['* 3 EXPUNGE', '* 2 EXPUNGE']);
    const s = await c.command('s2', 'SELECT INBOX');
    assert.match(s, /^\* 2 EXISTS/m);
    c.close();
  });

  it('UID EXPUNGE removes only the given UIDs', async () => {
    const c = await login(server);
    for (const t of ['a', 'b', 'c']) await append(c, t, 'INBOX');
    await c.command('s', 'SELECT INBOX');
    await c.command('t', 'STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    const r = await c.command('x', 'UID EXPUNGE 2');
    assert.match(r, /^\* 2 EXPUNGE/m);
    assert.doesNotMatch(r, /^\* [13] EXPUNGE/m);
    c.close();
  });

  it('COPY answers COPYUID; MOVE sends COPYUID and EXPUNGE', async () => {
    const c = await login(server);
    for (const t of ['a', 'b', 'c']) await append(c, t, 'INBOX');
    await c.command('s', 'SELECT INBOX');
    const copy = await c.command('c', 'COPY 1:2 Archive');
    assert.match(copy, /^c OK \[COPYUID \d+ 1:2 1:2\]/m);
    const move = await c.command('m', 'UID MOVE 3 Archive');
    assert.match(move, /^\* OK \[COPYUID \d+ 3 3\]/m);
    assert.match(move, /^\* 3 EXPUNGE/m);
    assert.match(await c.command('n', 'COPY 1 Nowhere'), /^n NO \[TRYCREATE\]/m);
    const st = await c.command('e', 'EXAMINE Archive');
    assert.match(st, /^\* 3 EXISTS/m);
    c.close();
  });

  it('CREATE, RENAME a hierarchy, DELETE; RENAME INBOX moves its messages', async () => {
    const c = await login(server);
    assert.match(await c.command('a', 'CREATE Projects/2026/Q1'), /^a OK/m);
    assert.match(await c.command('b', 'CREATE Projects'), /^b NO \[ALREADYEXISTS\]/m);
    assert.match(await c.command('c', 'RENAME Projects Work'), /^c OK/m);
    assert.match(await c.command('d', 'SELECT Work/2026/Q1'), /^d OK/m);
    assert.match(await c.command('d2', 'SELECT Projects/2026/Q1'), /^d2 NO/m);
    await append(c, 'e', 'INBOX');
    assert.match(await c.command('f', 'RENAME INBOX Old-Inbox'), /^f OK/m);
    assert.match(await c.command('g', 'SELECT INBOX'), /^\* 0 EXISTS/m);
    assert.match(await c.command('h', 'SELECT Old-Inbox'), /^\* 1 EXISTS/m);
    assert.match(await c.command('i', 'DELETE INBOX'), /^i NO/m);
    assert.match(await c.command('j', 'DELETE Work/2026/Q1'), /^j OK/m);
    assert.match(await c.command('k', 'DELETE Work/2026/Q1'), /^k NO \[NONEXISTENT\]/m);
    c.close();
  });

  it('CLOSE expunges silently; UNSELECT does not', async () => {
    const c = await login(server);
    for (const t of ['a', 'b']) await append(c, t, 'INBOX');
    await c.command('s', 'SELECT INBOX');
    await c.command('t', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    const u = await c.command('u', 'UNSELECT');
    assert.doesNotMatch(u, /EXPUNGE/);
    await c.command('s2', 'SELECT INBOX');
    const cl = await c.command('c', 'CLOSE');
    assert.doesNotMatch(cl, /EXPUNGE/);
    assert.match(await c.command('s3', 'SELECT INBOX'), /^\* 1 EXISTS/m);
    c.close();
  });
});
