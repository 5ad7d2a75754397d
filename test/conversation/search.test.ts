// SEARCH over real TCP: decoded headers and bodies, dates, CHARSET, ESEARCH result options,
// SEARCHRES "$", IMAP4rev2 ESEARCH; then Python's imaplib and imapflow as clients.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const run = promisify(execFile);

const MESSAGES: Array<{ raw: string | Buffer; flags: string[]; internalDate: Date }> = [
  {
    // Encoded words in From and Subject, a quoted-printable UTF-8 body.
    raw: [
      'From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.com>',
      'To: alice@example.org',
      'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=',
      'Date: Wed, 10 Jan 2024 23:30:00 -0800',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Die Stra=C3=9Fe ist nass.',
      '',
    ].join('\r\n'),
    flags: ['\\Seen'],
    internalDate: new Date('2024-01-11T07:30:00Z'),
  },
  {
    // multipart/alternative with a base64 text part and an extra header.
    raw: [
      'From: Bob <bob@example.net>',
      'To: alice@example.org',
      'Cc: carol@example.net',
      'Subject: quarterly numbers',
      'Date: Thu, 1 Feb 2024 09:00:00 +0000',
      'X-Tag: alpha',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('secret base64 words\r\n').toString('base64'),
      '--b1',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<p>secret html words</p>',
      '--b1--',
      '',
    ].join('\r\n'),
    flags: ['\\Flagged'],
    internalDate: new Date('2024-02-01T09:00:00Z'),
  },
  {
    // ISO-8859-1 8-bit body.
    raw: Buffer.concat([
      Buffer.from(
        [
          'From: carol@example.net',
          'Subject: plain',
          'Date: Fri, 1 Mar 2024 12:00:00 +0100',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=iso-8859-1',
          'Content-Transfer-Encoding: 8bit',
          '',
          'Un caf',
        ].join('\r\n'),
      ),
      Buffer.from([0xe9]),
      Buffer.from(' noir.\r\n'),
    ]),
    flags: [],
    internalDate: new Date('2024-03-01T11:00:00Z'),
  },
];

describe('SEARCH conversations', function () {
  let server: TestServer;
  let creds: { user: string; password: string };

  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
    const store = server.memgate.store;
    const user = await store.authenticate(creds.user, creds.password);
    assert.ok(user);
    const inbox = await store.getMailbox(user.id, 'INBOX');
    assert.ok(inbox, 'INBOX missing');
    await store.appendMessages(
      user.id,
      inbox.id,
      MESSAGES.map((m) => ({ raw: Buffer.isBuffer(m.raw) ? m.raw : Buffer.from(m.raw), flags: m.flags, internalDate: m.internalDate })),
    );
  });
  after(async () => server?.stop());

  async function session(rev2 = false): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('l', `LOGIN ${creds.user} "${creds.password}"`), /^l OK/m);
    if (rev2) assert.match(await c.command('e', 'ENABLE IMAP4rev2'), /^e OK/m);
    assert.match(await c.command('s', 'SELECT INBOX'), /^s OK/m);
    return c;
  }

  /** A command whose last argument is a UTF-8 literal. */
  function withLiteral(prefix: string, text: string): Buffer {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([Buffer.from(`${prefix} {${bytes.length}+}\r\n`), bytes]);
  }

  describe('IMAP4rev1 responses', () => {
    let c: RawClient;
    before(async () => {
      c = await session();
    });
    after(() => c.close());

    const cases: Array<[string, string | Buffer, string]> = [
      ['ALL', 'SEARCH ALL', '* SEARCH 1 2 3'],
      ['flags', 'SEARCH OR SEEN FLAGGED', '* SEARCH 1 2'],
      ['no match', 'SEARCH DELETED', '* SEARCH'],
      ['encoded-word From', withLiteral('SEARCH CHARSET UTF-8 FROM', 'müller'), '* SEARCH 1'],
      ['address', 'SEARCH FROM juergen@EXAMPLE.com', '* SEARCH 1'],
      ['encoded-word Subject', withLiteral('SEARCH CHARSET UTF-8 SUBJECT', 'KÖLN'), '* SEARCH 1'],
      ['quoted-printable body', withLiteral('SEARCH CHARSET UTF-8 BODY', 'straße'), '* SEARCH 1'],
      ['base64 body part', 'SEARCH BODY "base64 words"', '* SEARCH 2'],
      ['html part', 'SEARCH BODY "html words"', '* SEARCH 2'],
      ['ISO-8859-1 body', withLiteral('SEARCH BODY', 'café'), '* SEARCH 3'],
      ['TEXT over header and body', 'SEARCH TEXT alice', '* SEARCH 1 2'],
      ['HEADER presence', 'SEARCH HEADER X-Tag ""', '* SEARCH 2'],
      ['CC and TO', 'SEARCH CC carol TO alice', '* SEARCH 2'],
      ['SENTON uses the Date field as written', 'SEARCH SENTON 10-Jan-2024', '* SEARCH 1'],
      ['ON uses INTERNALDATE in UTC', 'SEARCH ON 11-Jan-2024', '* SEARCH 1'],
      ['SINCE', 'SEARCH SINCE 1-Feb-2024', '* SEARCH 2 3'],
      ['size', 'SEARCH LARGER 1', '* SEARCH 1 2 3'],
      ['sequence set', 'SEARCH 2:*', '* SEARCH 2 3'],
      ['UID SEARCH', 'UID SEARCH UID 2:3 NOT FLAGGED', '* SEARCH 3'],
      ['US-ASCII charset', 'SEARCH CHARSET US-ASCII SUBJECT plain', '* SEARCH 3'],
      ['nested', 'SEARCH OR (SEEN BODY nass) NOT OR 1 BODY secret', '* SEARCH 1 3'],
    ];
    cases.forEach(([name, command, expected], i) => {
      it(name, async () => {
        const r = await c.command(`t${i}`, command);
        const name = String(command).startsWith('UID') ? 'UID SEARCH' : 'SEARCH';
        assert.equal(r, `${expected}\r\nt${i} OK ${name} completed\r\n`);
      });
    });

    it('refuses an unknown charset with BADCHARSET', async () => {
      const r = await c.command('c1', 'SEARCH CHARSET KOI8-R SUBJECT x');
      assert.match(r, /^c1 NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/m);
      assert.doesNotMatch(r, /\* SEARCH/);
    });

    it('answers malformed keys and dates with BAD', async () => {
      for (const [i, command] of ['SEARCH FOO', 'SEARCH SINCE 31-Feb-2024', 'SEARCH (SEEN', 'SEARCH OR SEEN', 'SEARCH RETURN (FOO) ALL'].entries()) {
        assert.match(await c.command(`b${i}`, command), new RegExp(`^b${i} BAD`, 'm'), command);
      }
    });

    it('answers result options with ESEARCH', async () => {
      assert.equal(
        await c.command('e1', 'UID SEARCH RETURN (MIN MAX COUNT ALL) ALL'),
        '* ESEARCH (TAG "e1") UID MIN 1 MAX 3 COUNT 3 ALL 1:3\r\ne1 OK UID SEARCH completed\r\n',
      );
      assert.equal(await c.command('e2', 'SEARCH RETURN () SEEN'), '* ESEARCH (TAG "e2") ALL 1\r\ne2 OK SEARCH completed\r\n');
      assert.equal(await c.command('e3', 'SEARCH RETURN (COUNT MIN) DELETED'), '* ESEARCH (TAG "e3") COUNT 0\r\ne3 OK SEARCH completed\r\n');
      assert.equal(await c.command('e4', 'SEARCH RETURN (MAX) NOT FLAGGED'), '* ESEARCH (TAG "e4") MAX 3\r\ne4 OK SEARCH completed\r\n');
    });

    it('saves a result in $ and uses it (SEARCHRES)', async () => {
      assert.equal(await c.command('r1', 'SEARCH RETURN (SAVE) OR FLAGGED SEEN'), 'r1 OK SEARCH completed\r\n');
      assert.equal(await c.command('r2', 'UID SEARCH $'), '* SEARCH 1 2\r\nr2 OK UID SEARCH completed\r\n');
      assert.equal(await c.command('r3', 'SEARCH NOT $'), '* SEARCH 3\r\nr3 OK SEARCH completed\r\n');
      assert.equal(await c.command('r4', 'UID SEARCH UID $ BODY nass'), '* SEARCH 1\r\nr4 OK UID SEARCH completed\r\n');
      assert.match(await c.command('r5', 'STORE $ +FLAGS.SILENT (x-marked)'), /^r5 OK/m);
      assert.equal(await c.command('r6', 'SEARCH KEYWORD x-marked'), '* SEARCH 1 2\r\nr6 OK SEARCH completed\r\n');
      // SAVE with MIN and MAX only keeps those two.
      assert.equal(
        await c.command('r7', 'SEARCH RETURN (SAVE MIN) ALL'),
        '* ESEARCH (TAG "r7") MIN 1\r\nr7 OK SEARCH completed\r\n',
      );
      assert.equal(await c.command('r8', 'UID SEARCH $'), '* SEARCH 1\r\nr8 OK UID SEARCH completed\r\n');
    });

    it('empties $ when a SEARCH with SAVE fails', async () => {
      assert.match(await c.command('f1', 'SEARCH RETURN (SAVE) ALL'), /^f1 OK/m);
      assert.match(await c.command('f2', 'SEARCH RETURN (SAVE) CHARSET X-UNKNOWN ALL'), /^f2 NO \[BADCHARSET/m);
      assert.equal(await c.command('f3', 'SEARCH $'), '* SEARCH\r\nf3 OK SEARCH completed\r\n');
      assert.match(await c.command('f4', 'SEARCH RETURN (SAVE) ALL'), /^f4 OK/m);
      assert.match(await c.command('f5', 'SEARCH RETURN (SAVE) NOSUCHKEY'), /^f5 BAD/m);
      assert.equal(await c.command('f6', 'SEARCH $'), '* SEARCH\r\nf6 OK SEARCH completed\r\n');
    });
  });

  describe('IMAP4rev2 responses', () => {
    it('answers every SEARCH with ESEARCH', async () => {
      const c = await session(true);
      assert.equal(await c.command('a', 'SEARCH SEEN'), '* ESEARCH (TAG "a") ALL 1\r\na OK SEARCH completed\r\n');
      assert.equal(await c.command('b', 'UID SEARCH ALL'), '* ESEARCH (TAG "b") UID ALL 1:3\r\nb OK UID SEARCH completed\r\n');
      assert.equal(await c.command('c', 'UID SEARCH DELETED'), '* ESEARCH (TAG "c") UID\r\nc OK UID SEARCH completed\r\n');
      assert.equal(await c.command('d', 'SEARCH RETURN (COUNT) ALL'), '* ESEARCH (TAG "d") COUNT 3\r\nd OK SEARCH completed\r\n');
      assert.equal(await c.command('e', 'SEARCH RETURN (SAVE) FLAGGED'), 'e OK SEARCH completed\r\n');
      assert.equal(await c.command('f', 'SEARCH $'), '* ESEARCH (TAG "f") ALL 2\r\nf OK SEARCH completed\r\n');
      c.close();
    });
  });

  it('works for Python imaplib', async () => {
    const script = `
import imaplib, json, sys
m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))
m.login(sys.argv[3], sys.argv[4])
m.select('INBOX')
out = {}
out['all'] = m.search(None, 'ALL')[1][0].decode()
out['from'] = m.search(None, 'FROM', '"bob"')[1][0].decode()
out['or'] = m.search(None, '(OR SEEN FLAGGED)')[1][0].decode()
out['uid_since'] = m.uid('SEARCH', 'SINCE', '1-Feb-2024')[1][0].decode()
m.literal = 'köln'.encode('utf-8')
out['utf8_subject'] = m.search('UTF-8', 'SUBJECT')[1][0].decode()
typ, data = m.search('KOI8-R', 'ALL')
out['badcharset'] = typ + ' ' + data[0].decode()
try:
    m.search(None, 'BOGUS')
    out['bad'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['bad'] = str(e)
m.logout()
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, '127.0.0.1', String(server.port), creds.user, creds.password]);
    const out = JSON.parse(stdout) as Record<string, string>;
    assert.equal(out.all, '1 2 3');
    assert.equal(out.from, '2');
    assert.equal(out.or, '1 2');
    assert.equal(out.uid_since, '2 3');
    assert.equal(out.utf8_subject, '1');
    assert.match(out.badcharset, /^NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
    assert.match(out.bad, /BAD/);
  });

  it('works for imapflow', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: creds.user, pass: creds.password },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxOpen('INBOX');
      assert.deepEqual(await client.search({ all: true }), [1, 2, 3]);
      assert.deepEqual(await client.search({ seen: true }), [1]);
      assert.deepEqual(await client.search({ from: 'bob' }, { uid: true }), [2]);
      assert.deepEqual(await client.search({ subject: 'köln' }), [1]);
      assert.deepEqual(await client.search({ body: 'straße' }), [1]);
      assert.deepEqual(await client.search({ or: [{ flagged: true }, { subject: 'plain' }] }), [2, 3]);
      assert.deepEqual(await client.search({ since: new Date('2024-02-01T00:00:00Z') }), [2, 3]);
      assert.deepEqual(await client.search({ header: { 'x-tag': true } }), [2]);
      assert.deepEqual(await client.search({ not: { seen: true }, larger: 10 }), [2, 3]);
    } finally {
      await client.logout();
    }
  });
});
