// FETCH and UID FETCH over real TCP: exact bytes with a raw client (sections, partials,
// BINARY, RFC822*, \Seen), and imapflow as an independent client.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const CRLF = '\r\n';
const lines = (...l: string[]) => l.join(CRLF);

// Parts: 1 text/plain, 2 multipart/alternative (2.1, 2.2), 3 base64 binary, 4 message/rfc822.
const OUTER_HEADER = lines(
  'From: Alice <alice@example.com>',
  'To: Bob <bob@example.com>',
  'Subject: Parts',
  'Date: Mon, 1 Jan 2024 10:00:00 +0000',
  'Message-ID: <m1@example.com>',
  'X-Folded: one',
  ' two',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '',
);
const INNER_MESSAGE = lines('From: Carol <carol@example.com>', 'Subject: Inner', '', 'Inner body');
const ALTERNATIVE = lines(
  '--inner',
  'Content-Type: text/plain',
  '',
  'alt text',
  '--inner',
  'Content-Type: text/html',
  '',
  '<p>alt html</p>',
  '--inner--',
);
const OUTER_TEXT = lines(
  'preamble',
  '--outer',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello plain',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  ALTERNATIVE,
  '--outer',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  'AAECAwQ=',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  INNER_MESSAGE,
  '--outer--',
  'epilogue',
  '',
);
const MULTIPART = OUTER_HEADER + OUTER_TEXT;

const SIMPLE = lines('From: Dan <dan@example.com>', 'Subject: Simple', '', 'Just text.', '');
const UNKNOWN_CTE = lines('Subject: Weird', 'Content-Transfer-Encoding: x-rot13', '', 'uryyb', '');
const QP = lines('Subject: QP', 'Content-Transfer-Encoding: quoted-printable', '', 'caf=C3=A9 =00end', '');

/** `{n}CRLF<bytes>` for a string of latin1 bytes. */
const lit = (s: string) => `{${Buffer.byteLength(s, 'latin1')}}${CRLF}${s}`;

describe('FETCH', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  let c: RawClient;

  async function append(client: RawClient, mailbox: string, message: string, extra = ''): Promise<void> {
    const r = await client.command('ap', `APPEND ${mailbox}${extra} {${Buffer.byteLength(message, 'latin1')}+}${CRLF}${message}`);
    assert.match(r, /^ap OK/m, r);
  }

  async function login(): Promise<RawClient> {
    const client = await RawClient.connect(server.port);
    assert.match(await client.command('l', `LOGIN ${creds.user} "${creds.password}"`), /^l OK/m);
    return client;
  }

  before(async function () {
    server = await startTestServer();
    creds = await server.addUser();
    c = await login();
    await append(c, 'INBOX', MULTIPART, ' () "05-Jan-2024 10:11:12 +0200"'); // 1
    await append(c, 'INBOX', SIMPLE); // 2
    await append(c, 'INBOX', UNKNOWN_CTE); // 3
    await append(c, 'INBOX', QP); // 4
    await append(c, 'INBOX', SIMPLE); // 5: \Seen tests
    await append(c, 'INBOX', SIMPLE); // 6: RFC822.TEXT
    await append(c, 'INBOX', SIMPLE); // 7: BINARY sets \Seen
    assert.match(await c.command('s', 'SELECT INBOX'), /^\* 7 EXISTS/m);
  });
  after(async () => {
    c?.close();
    await server?.stop();
  });

  /** The untagged part of a command's answer, checking the tagged OK. */
  async function ok(command: string): Promise<string> {
    const r = await c.command('f', command);
    assert.ok(r.endsWith(`f OK FETCH completed${CRLF}`) || r.endsWith(`f OK UID FETCH completed${CRLF}`), r);
    return r.slice(0, r.lastIndexOf('f OK'));
  }

  describe('BODY[section] bytes', () => {
    it('gives BODY[] byte-exact and does not set \\Seen with PEEK', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[])'), `* 1 FETCH (BODY[] ${lit(MULTIPART)})${CRLF}`);
      assert.equal(await ok('FETCH 1 (FLAGS)'), `* 1 FETCH (FLAGS ())${CRLF}`);
    });

    it('puts UID first for UID FETCH', async () => {
      assert.equal(await ok('UID FETCH 2 (BODY.PEEK[TEXT])'), `* 2 FETCH (UID 2 BODY[TEXT] ${lit('Just text.\r\n')})${CRLF}`);
      assert.equal(await ok('UID FETCH 2 (FLAGS UID)'), `* 2 FETCH (FLAGS () UID 2)${CRLF}`);
    });

    it('gives HEADER and TEXT of the message', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[HEADER])'), `* 1 FETCH (BODY[HEADER] ${lit(OUTER_HEADER)})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[TEXT])'), `* 1 FETCH (BODY[TEXT] ${lit(OUTER_TEXT)})${CRLF}`);
    });

    it('gives HEADER.FIELDS and HEADER.FIELDS.NOT with folded lines kept, names echoed upper-cased', async () => {
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (x-folded Subject)])'),
        `* 1 FETCH (BODY[HEADER.FIELDS (X-FOLDED SUBJECT)] ${lit('Subject: Parts\r\nX-Folded: one\r\n two\r\n\r\n')})${CRLF}`,
      );
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Subject Date Message-ID X-Folded)])'),
        `* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO SUBJECT DATE MESSAGE-ID X-FOLDED)] ${lit(
          'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n',
        )})${CRLF}`,
      );
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Absent)])'),
        `* 1 FETCH (BODY[HEADER.FIELDS (X-ABSENT)] ${lit('\r\n')})${CRLF}`,
      );
    });

    it('gives parts, nested parts and MIME headers', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[1])'), `* 1 FETCH (BODY[1] ${lit('Hello plain')})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[2])'), `* 1 FETCH (BODY[2] ${lit(ALTERNATIVE)})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[2.1])'), `* 1 FETCH (BODY[2.1] ${lit('alt text')})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[2.2])'), `* 1 FETCH (BODY[2.2] ${lit('<p>alt html</p>')})${CRLF}`);
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[2.2.MIME] BODY.PEEK[1.MIME])'),
        `* 1 FETCH (BODY[2.2.MIME] ${lit('Content-Type: text/html\r\n\r\n')} BODY[1.MIME] ${lit(
          'Content-Type: text/plain; charset=utf-8\r\n\r\n',
        )})${CRLF}`,
      );
      assert.equal(await ok('FETCH 1 (BODY.PEEK[3])'), `* 1 FETCH (BODY[3] ${lit('AAECAwQ=')})${CRLF}`);
    });

    it('gives a message/rfc822 part whole, and its HEADER, TEXT and parts', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[4])'), `* 1 FETCH (BODY[4] ${lit(INNER_MESSAGE)})${CRLF}`);
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[4.HEADER] BODY.PEEK[4.TEXT] BODY.PEEK[4.1])'),
        `* 1 FETCH (BODY[4.HEADER] ${lit('From: Carol <carol@example.com>\r\nSubject: Inner\r\n\r\n')} BODY[4.TEXT] ${lit(
          'Inner body',
        )} BODY[4.1] ${lit('Inner body')})${CRLF}`,
      );
      assert.equal(
        await ok('FETCH 1 (BODY.PEEK[4.HEADER.FIELDS (subject)])'),
        `* 1 FETCH (BODY[4.HEADER.FIELDS (SUBJECT)] ${lit('Subject: Inner\r\n\r\n')})${CRLF}`,
      );
      assert.equal(await ok('FETCH 1 (BODY.PEEK[4.MIME])'), `* 1 FETCH (BODY[4.MIME] ${lit('Content-Type: message/rfc822\r\n\r\n')})${CRLF}`);
    });

    it('gives part 1 of a non-multipart message as its body', async () => {
      assert.equal(await ok('FETCH 2 (BODY.PEEK[1])'), `* 2 FETCH (BODY[1] ${lit('Just text.\r\n')})${CRLF}`);
    });

    it('answers a section that does not exist with an empty string (as Dovecot 2.3)', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[9])'), `* 1 FETCH (BODY[9] {0}${CRLF})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[2.5.1])'), `* 1 FETCH (BODY[2.5.1] {0}${CRLF})${CRLF}`);
      // HEADER of a part that is not a message/rfc822.
      assert.equal(await ok('FETCH 1 (BODY.PEEK[1.HEADER])'), `* 1 FETCH (BODY[1.HEADER] {0}${CRLF})${CRLF}`);
    });

    it('gives partials named by their origin octet', async () => {
      assert.equal(await ok('FETCH 1 (BODY.PEEK[]<0.10>)'), `* 1 FETCH (BODY[]<0> ${lit(MULTIPART.slice(0, 10))})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[1]<6.100>)'), `* 1 FETCH (BODY[1]<6> ${lit('plain')})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[1]<11.5>)'), `* 1 FETCH (BODY[1]<11> {0}${CRLF})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[1]<5000.5>)'), `* 1 FETCH (BODY[1]<5000> {0}${CRLF})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BODY.PEEK[TEXT]<2.3>)'), `* 1 FETCH (BODY[TEXT]<2> ${lit('eam')})${CRLF}`);
    });
  });

  describe('RFC822 items and metadata', () => {
    it('gives RFC822.HEADER and RFC822.SIZE without setting \\Seen', async () => {
      assert.equal(
        await ok('FETCH 1 (RFC822.SIZE RFC822.HEADER)'),
        `* 1 FETCH (RFC822.SIZE ${Buffer.byteLength(MULTIPART)} RFC822.HEADER ${lit(OUTER_HEADER)})${CRLF}`,
      );
      assert.equal(await ok('FETCH 1 (FLAGS)'), `* 1 FETCH (FLAGS ())${CRLF}`);
    });

    it('gives INTERNALDATE in UTC and expands FAST', async () => {
      assert.equal(
        await ok('FETCH 1 FAST'),
        `* 1 FETCH (FLAGS () INTERNALDATE "05-Jan-2024 08:11:12 +0000" RFC822.SIZE ${Buffer.byteLength(MULTIPART)})${CRLF}`,
      );
    });

    it('expands ALL and FULL with ENVELOPE and BODY', async () => {
      const all = await ok('FETCH 1 ALL');
      assert.match(all, /^\* 1 FETCH \(FLAGS \(\) INTERNALDATE "05-Jan-2024 08:11:12 \+0000" RFC822\.SIZE \d+ ENVELOPE \("Mon, 1 Jan 2024 10:00:00 \+0000" "Parts" /);
      const full = await ok('FETCH 1 FULL');
      assert.match(full, / ENVELOPE \(.*\) BODY \(\("text" "plain" /);
      assert.doesNotMatch(full, /BODYSTRUCTURE/);
    });

    it('RFC822.TEXT sets \\Seen and reports FLAGS in the same response', async () => {
      assert.equal(await ok('FETCH 6 (RFC822.TEXT)'), `* 6 FETCH (FLAGS (\\Seen) RFC822.TEXT ${lit('Just text.\r\n')})${CRLF}`);
    });

    it('RFC822 is the whole message', async () => {
      assert.equal(await ok('FETCH 6 (RFC822)'), `* 6 FETCH (RFC822 ${lit(SIMPLE)})${CRLF}`);
    });
  });

  describe('BINARY (RFC 3516)', () => {
    it('decodes base64 into a binary literal when it holds NUL', async () => {
      const r = await ok('FETCH 1 (BINARY.PEEK[3] BINARY.SIZE[3])');
      assert.equal(r, `* 1 FETCH (BINARY[3] ~{5}${CRLF}\x00\x01\x02\x03\x04 BINARY.SIZE[3] 5)${CRLF}`);
    });

    it('sends a normal literal when the decoded bytes hold no NUL, and partials', async () => {
      assert.equal(await ok('FETCH 1 (BINARY.PEEK[1])'), `* 1 FETCH (BINARY[1] ${lit('Hello plain')})${CRLF}`);
      assert.equal(await ok('FETCH 1 (BINARY.PEEK[3]<1.2>)'), `* 1 FETCH (BINARY[3]<1> {2}${CRLF}\x01\x02)${CRLF}`);
    });

    it('decodes quoted-printable', async () => {
      assert.equal(await ok('UID FETCH 4 (BINARY.PEEK[1] BINARY.SIZE[1])'), `* 4 FETCH (UID 4 BINARY[1] ~{12}${CRLF}caf\xc3\xa9 \x00end\r\n BINARY.SIZE[1] 12)${CRLF}`);
    });

    it('gives an empty string and size 0 for a part that does not exist (as Dovecot 2.3)', async () => {
      assert.equal(await ok('FETCH 1 (BINARY.PEEK[7] BINARY.SIZE[7])'), `* 1 FETCH (BINARY[7] {0}${CRLF} BINARY.SIZE[7] 0)${CRLF}`);
    });

    it('answers NO [UNKNOWN-CTE] for an encoding it cannot decode, and still answers other items', async () => {
      const r = await c.command('u', 'FETCH 3 (UID BINARY.PEEK[1])');
      assert.equal(r, `* 3 FETCH (UID 3)${CRLF}u NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding${CRLF}`);
      const s = await c.command('v', 'FETCH 3 (BINARY.SIZE[1])');
      assert.equal(s, `v NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding${CRLF}`);
      // BODY[] of the same part is fine: no decoding.
      assert.equal(await ok('FETCH 3 (BODY.PEEK[1])'), `* 3 FETCH (BODY[1] ${lit('uryyb\r\n')})${CRLF}`);
    });

    it('BINARY without PEEK sets \\Seen', async () => {
      assert.equal(await ok('FETCH 7 (BINARY[1])'), `* 7 FETCH (FLAGS (\\Seen) BINARY[1] ${lit('Just text.\r\n')})${CRLF}`);
    });
  });

  describe('\\Seen', () => {
    it('is set by BODY[...] once, reported with FLAGS that time only; PEEK never sets it', async () => {
      assert.equal(await ok('FETCH 5 (BODY.PEEK[1])'), `* 5 FETCH (BODY[1] ${lit('Just text.\r\n')})${CRLF}`);
      assert.equal(await ok('UID FETCH 5 (BODY[1])'), `* 5 FETCH (UID 5 FLAGS (\\Seen) BODY[1] ${lit('Just text.\r\n')})${CRLF}`);
      assert.equal(await ok('FETCH 5 (BODY[1])'), `* 5 FETCH (BODY[1] ${lit('Just text.\r\n')})${CRLF}`);
      assert.equal(await ok('FETCH 5 (FLAGS)'), `* 5 FETCH (FLAGS (\\Seen))${CRLF}`);
    });

    it('is not set in a mailbox opened with EXAMINE', async () => {
      const other = await login();
      await append(other, 'INBOX', SIMPLE);
      assert.match(await other.command('e', 'EXAMINE INBOX'), /^e OK \[READ-ONLY\]/m);
      const r = await other.command('f', 'FETCH 8 (BODY[1])');
      assert.equal(r, `* 8 FETCH (BODY[1] ${lit('Just text.\r\n')})${CRLF}f OK FETCH completed${CRLF}`);
      assert.equal(await other.command('g', 'FETCH 8 (FLAGS)'), `* 8 FETCH (FLAGS ())${CRLF}g OK FETCH completed${CRLF}`);
      other.close();
      // Our session learns of the new message at its next command.
      assert.match(await c.command('n', 'NOOP'), /^\* 8 EXISTS/m);
    });

    it('is announced to another session watching the mailbox', async () => {
      const watcher = await login();
      await watcher.command('s', 'SELECT INBOX');
      await ok('FETCH 8 (BODY[TEXT])');
      const r = await watcher.command('n', 'NOOP');
      assert.match(r, /^\* 8 FETCH \(UID 8 FLAGS \(\\Seen\)\)/m);
      watcher.close();
    });
  });

  describe('errors', () => {
    it('answers malformed fetch items with BAD and keeps the connection', async () => {
      for (const bad of ['FETCH 1 ()', 'FETCH 1 (BODY[MIME])', 'FETCH 1 (BODY[1]<a.b>)', 'FETCH 1 (FOO)', 'FETCH 1 (ALL)', 'FETCH 1', 'FETCH 1 (FLAGS) (FOO 1)']) {
        assert.match(await c.command('b', bad), /^b BAD /m, bad);
      }
      assert.match(await c.command('b', 'FETCH 99 (FLAGS)'), /^b BAD .*sequence number/m);
      assert.equal(await c.command('b', 'UID FETCH 99 (FLAGS)'), `b OK UID FETCH completed${CRLF}`);
      assert.equal(await ok('FETCH 2 (UID)'), `* 2 FETCH (UID 2)${CRLF}`);
    });

    it('is not allowed without a selected mailbox', async () => {
      const other = await login();
      assert.match(await other.command('f', 'FETCH 1 (FLAGS)'), /^f BAD /m);
      other.close();
    });
  });

  describe('summary cache', () => {
    it('keeps ENVELOPE/BODYSTRUCTURE with the content, and answers them again without the message bytes', async () => {
      const first = await ok('FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)');
      assert.match(first, /^\* 1 FETCH \(FLAGS \(\) ENVELOPE \(/);
      const store = server.memgate.store;
      const user = (await store.listUsers()).find((u) => u.name === creds.user)!;
      const inbox = (await store.getMailbox(user.id, 'INBOX'))!;
      const messages = await store.listMessages(user.id, inbox.id);
      const summaries = await store.getContentSummaries(
        user.id,
        messages.map((m) => m.contentId),
      );
      assert.equal(summaries.size, new Set(messages.map((m) => m.contentId)).size);

      // Count the reads that reach the store's own getContent, under any wrapper around it
      // (the body fetcher is a Proxy): an own property on the store shadows its method.
      const real = Object.getPrototypeOf(store).getContent as typeof store.getContent;
      let loads = 0;
      Object.defineProperty(store, 'getContent', {
        configurable: true,
        writable: true,
        value(this: typeof store, userId: string, contentId: string) {
          loads++;
          return real.call(this, userId, contentId);
        },
      });
      try {
        assert.equal(await ok('FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)'), first);
        assert.match(await ok('FETCH 1:* (UID RFC822.SIZE INTERNALDATE BODY)'), /^\* 1 FETCH \(UID 1 RFC822\.SIZE \d+ INTERNALDATE "[^"]+" BODY \(/);
        assert.equal(loads, 0);
        await ok('FETCH 1 (BODY.PEEK[1])');
        assert.equal(loads, 1);
      } finally {
        delete (store as unknown as Record<string, unknown>).getContent;
      }
    });

    it('answers BODYSTRUCTURE with the nested structure', async () => {
      const r = await ok('FETCH 1 (BODYSTRUCTURE)');
      assert.match(r, /^\* 1 FETCH \(BODYSTRUCTURE \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "7bit" 11 0 NIL NIL NIL NIL\)\(\("text" "plain" /);
      assert.match(r, /\("text" "html" \("charset" "us-ascii"\) NIL NIL "7bit" 15 0 NIL NIL NIL NIL\) "alternative" \("boundary" "inner"\) NIL NIL NIL\)/);
      assert.match(r, /\("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL\)/);
      assert.match(r, /"message" "rfc822" NIL NIL NIL "7bit" \d+ \(NIL "Inner" \(\("Carol" NIL "carol" "example.com"\)\)/);
    });
  });

  describe('many messages', () => {
    it('answers 1:* over more than one batch, in order', async () => {
      const other = await login();
      assert.match(await other.command('cr', 'CREATE Many'), /^cr OK/m);
      for (let i = 1; i <= 120; i++) await append(other, 'Many', lines(`Subject: n${i}`, '', `body ${i}`, ''));
      await other.command('s', 'SELECT Many');
      const r = await other.command('f', 'FETCH 1:* (BODY[HEADER.FIELDS (SUBJECT)])');
      const subjects = [...r.matchAll(/^\* (\d+) FETCH \((FLAGS \(\\Seen\) )?BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: n(\d+)\r\n/gm)];
      assert.equal(subjects.length, 120);
      subjects.forEach((m, i) => {
        assert.equal(Number(m[1]), i + 1);
        assert.equal(Number(m[3]), i + 1);
        assert.ok(m[2], 'FLAGS reported when \\Seen was set');
      });
      assert.match(r, /f OK FETCH completed\r\n$/);
      other.close();
    });
  });

  describe('expunged by another session', () => {
    it('still answers FLAGS from the view, and NO [EXPUNGEISSUED] for the content', async () => {
      const a = await login();
      const b = await login();
      assert.match(await a.command('cr', 'CREATE Gone'), /^cr OK/m);
      await append(a, 'Gone', SIMPLE);
      await append(a, 'Gone', lines('Subject: stays', '', 'x', ''));
      await a.command('s', 'SELECT Gone');
      await b.command('s', 'SELECT Gone');
      assert.match(await b.command('d', 'STORE 1 +FLAGS (\\Deleted)'), /^d OK/m);
      assert.match(await b.command('x', 'EXPUNGE'), /^\* 1 EXPUNGE/m);
      // Give the event a moment to reach session a (it may not: the result is the same).
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The view's data: the message is doomed, its last flag change not applied any more.
      const flags = await a.command('f', 'FETCH 1 (FLAGS)');
      assert.match(flags, /^\* 1 FETCH \(FLAGS \([^)]*\)\)\r\nf OK/m);
      const body = await a.command('g', 'FETCH 1:2 (BODY.PEEK[TEXT])');
      assert.equal(body, `* 2 FETCH (BODY[TEXT] ${lit('x\r\n')})${CRLF}g NO [EXPUNGEISSUED] Some of the requested messages no longer exist${CRLF}`);
      assert.match(await a.command('n', 'NOOP'), /^\* 1 EXPUNGE\r\n/m);
      a.close();
      b.close();
    });
  });
});

describe('FETCH with imapflow', function () {
  let server: TestServer;
  let client: ImapFlow;

  before(async function () {
    server = await startTestServer();
    const creds = await server.addUser();
    client = new ImapFlow({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: creds.user, pass: creds.password },
      logger: false,
    });
    await client.connect();
    await client.append('INBOX', Buffer.from(MULTIPART, 'latin1'));
    await client.mailboxOpen('INBOX');
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await server?.stop();
  });

  it('fetches source, envelope, structure and body parts', async () => {
    const msg = await client.fetchOne('1', {
      uid: true,
      flags: true,
      size: true,
      source: true,
      envelope: true,
      bodyStructure: true,
      internalDate: true,
      headers: ['subject', 'x-folded'],
      bodyParts: ['1', '2.2', '4.1'],
    });
    assert.ok(msg);
    assert.equal(msg.uid, 1);
    assert.equal(msg.size, Buffer.byteLength(MULTIPART));
    assert.equal(msg.source?.toString('latin1'), MULTIPART);
    assert.equal(msg.envelope?.subject, 'Parts');
    assert.equal(msg.envelope?.messageId, '<m1@example.com>');
    assert.deepEqual(msg.envelope?.from, [{ name: 'Alice', address: 'alice@example.com' }]);
    assert.equal(msg.bodyStructure?.type, 'multipart/mixed');
    assert.deepEqual(
      msg.bodyStructure?.childNodes?.map((n) => n.type),
      ['text/plain', 'multipart/alternative', 'application/octet-stream', 'message/rfc822'],
    );
    assert.equal(msg.headers?.toString('latin1'), 'Subject: Parts\r\nX-Folded: one\r\n two\r\n\r\n');
    assert.equal(msg.bodyParts?.get('1')?.toString(), 'Hello plain');
    assert.equal(msg.bodyParts?.get('2.2')?.toString(), '<p>alt html</p>');
    assert.equal(msg.bodyParts?.get('4.1')?.toString(), 'Inner body');
    assert.ok(msg.internalDate instanceof Date);
    // imapflow fetched with BODY.PEEK: still unseen.
    assert.deepEqual([...(msg.flags ?? [])], []);
  });

  it('downloads a decoded part with BINARY', async () => {
    const { content } = await client.download('1', '3', { uid: true });
    assert.ok(content);
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk as Buffer);
    assert.deepEqual([...Buffer.concat(chunks)], [0, 1, 2, 3, 4]);
  });

  it('fetches a range, each message once, in order', async () => {
    await client.append('INBOX', Buffer.from(SIMPLE, 'latin1'));
    await client.append('INBOX', Buffer.from(QP, 'latin1'));
    const got: Array<[number, string | undefined]> = [];
    for await (const m of client.fetch('1:*', { uid: true, envelope: true, source: true })) {
      got.push([m.uid, m.envelope?.subject]);
      assert.equal(m.source?.length, m.uid === 1 ? Buffer.byteLength(MULTIPART) : m.uid === 2 ? SIMPLE.length : QP.length);
    }
    assert.deepEqual(got, [
      [1, 'Parts'],
      [2, 'Simple'],
      [3, 'QP'],
    ]);
  });
});
