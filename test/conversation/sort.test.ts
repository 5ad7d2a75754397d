// SORT, UID SORT and ESORT over real TCP (RFC 5256, RFC 5267, RFC 5957), then Python's
// imaplib (which has its own sort()) as an independent client.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';
import { userWithInbox } from '../support/mailbox';
import { imaplibSession } from '../support/python';

function message(headers: string[], body = 'x'): Buffer {
  return Buffer.from([...headers, '', body, ''].join('\r\n'));
}

// Sequence numbers 1..5; sizes grow with the body.
const MESSAGES = [
  {
    raw: message(['From: Zed <zed@example.org>', 'To: b@example.org', 'Subject: Re: banana', 'Date: Mon, 1 Jan 2024 10:00:00 +0000'], 'xxxx'),
    internalDate: new Date('2024-01-05T00:00:00Z'),
    flags: ['\\Seen'],
  },
  {
    raw: message(['From: anna@example.org', 'To: =?utf-8?q?=C3=84rger?= <c@example.org>', 'Subject: [list] Apple', 'Date: Mon, 1 Jan 2024 12:00:00 +0100'], 'x'),
    internalDate: new Date('2024-01-03T00:00:00Z'),
    flags: [],
  },
  {
    raw: message(['From: Bert <bert@example.org>', 'To: a@example.org', 'Subject: cherry (fwd)'], 'xxxxxxxx'),
    internalDate: new Date('2024-01-01T00:00:00Z'),
    flags: ['\\Seen'],
  },
  {
    raw: message(['From: carl@example.org', 'To: d@example.org', 'Subject: Fwd: apple', 'Date: Sun, 31 Dec 2023 23:30:00 -0100'], 'xx'),
    internalDate: new Date('2024-01-04T00:00:00Z'),
    flags: [],
  },
  {
    raw: message(['From: =?utf-8?q?=C3=84nne?= <aa@example.org>', 'Subject: =?utf-8?q?=C3=A4pfel?='], 'xxxxxx'),
    internalDate: new Date('2024-01-02T00:00:00Z'),
    flags: ['\\Seen'],
  },
];

/** Sequence numbers by RFC822.SIZE (all sizes differ). */
const bySize = MESSAGES.map((m, i) => [m.raw.length, i + 1]).sort((a, b) => a[0] - b[0]).map(([, seq]) => seq);

describe('SORT conversations', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  let c: RawClient;

  before(async () => {
    server = await startTestServer();
    creds = await userWithInbox(server, MESSAGES);
    c = await RawClient.connect(server.port);
    assert.match(await c.command('l', `LOGIN ${creds.user} "${creds.password}"`), /^l OK/m);
    assert.match(await c.command('s', 'SELECT INBOX'), /^s OK/m);
  });
  after(async () => {
    c?.close();
    await server?.stop();
  });

  it('advertises SORT, SORT=DISPLAY, ESORT and I18NLEVEL=1', async () => {
    const r = await c.command('c', 'CAPABILITY');
    for (const cap of ['SORT', 'SORT=DISPLAY', 'ESORT', 'I18NLEVEL=1']) assert.match(r, new RegExp(` ${cap}( |\\r)`));
  });

  const cases: Array<[string, string]> = [
    // Base subjects: apple (2), apple (4), äpfel (5), banana (1), cherry (3); NFKD makes
    // Ä an A followed by U+0308, which sorts after every letter.
    ['SORT (SUBJECT) UTF-8 ALL', '* SORT 2 4 5 1 3'],
    ['SORT (REVERSE SUBJECT) UTF-8 ALL', '* SORT 3 1 5 2 4'],
    ['SORT (ARRIVAL) US-ASCII ALL', '* SORT 3 5 2 4 1'],
    ['SORT (SIZE) US-ASCII ALL', `* SORT ${bySize.join(' ')}`],
    // 4 is 00:30 UTC, 1 is 10:00 UTC, 2 is 11:00 UTC; 3 and 5 have no Date: INTERNALDATE
    // (3 is 00:00 on Jan 1, 5 on Jan 2).
    ['SORT (DATE) UTF-8 ALL', '* SORT 3 4 1 2 5'],
    // Mailboxes: zed, anna, bert, carl, aa.
    ['SORT (FROM) UTF-8 ALL', '* SORT 5 2 3 4 1'],
    // Display names: Zed, anna, Bert, carl, Änne.
    ['SORT (DISPLAYFROM) UTF-8 ALL', '* SORT 2 5 3 4 1'],
    // No To in 5 sorts first; then a@, Ärger, b@, d@.
    ['SORT (DISPLAYTO) UTF-8 ALL', '* SORT 5 3 2 1 4'],
    ['SORT (TO) UTF-8 ALL', '* SORT 5 3 1 2 4'],
    ['SORT (CC ARRIVAL) UTF-8 ALL', '* SORT 3 5 2 4 1'],
    ['SORT (SUBJECT) UTF-8 SEEN', '* SORT 5 1 3'],
    ['SORT (SUBJECT) UTF-8 2:4', '* SORT 2 4 3'],
    ['SORT (ARRIVAL) UTF-8 DELETED', '* SORT'],
    ['UID SORT (REVERSE SIZE) UTF-8 ALL', `* SORT ${[...bySize].reverse().join(' ')}`],
  ];
  cases.forEach(([command, expected], i) => {
    it(command, async () => {
      const r = await c.command(`t${i}`, command);
      const name = command.startsWith('UID') ? 'UID SORT' : 'SORT';
      assert.equal(r, `${expected}\r\nt${i} OK ${name} completed\r\n`);
    });
  });

  it('answers RETURN options with ESEARCH in sort order (ESORT)', async () => {
    assert.equal(
      await c.command('e1', 'SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL'),
      '* ESEARCH (TAG "e1") MIN 2 MAX 3 COUNT 5 ALL 2,4:5,1,3\r\ne1 OK SORT completed\r\n',
    );
    assert.equal(
      await c.command('e2', 'UID SORT RETURN () (ARRIVAL) UTF-8 1:2,4:5'),
      '* ESEARCH (TAG "e2") UID ALL 5,2,4,1\r\ne2 OK UID SORT completed\r\n',
    );
    assert.equal(await c.command('e3', 'SORT RETURN (COUNT MIN) (SIZE) UTF-8 DELETED'), '* ESEARCH (TAG "e3") COUNT 0\r\ne3 OK SORT completed\r\n');
    assert.equal(await c.command('e4', 'SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL'), '* ESEARCH (TAG "e4") ALL 1,4,2,5,3\r\ne4 OK SORT completed\r\n');
  });

  it('saves the sorted matches in $ (SEARCHRES)', async () => {
    assert.equal(await c.command('r1', 'SORT RETURN (SAVE) (SUBJECT) UTF-8 SEEN'), 'r1 OK SORT completed\r\n');
    assert.equal(await c.command('r2', 'UID SEARCH $'), '* SEARCH 1 3 5\r\nr2 OK UID SEARCH completed\r\n');
  });

  it('refuses unknown charsets and malformed criteria', async () => {
    assert.match(await c.command('b1', 'SORT (SUBJECT) KOI8-R ALL'), /^b1 NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/m);
    for (const [i, command] of ['SORT (FOO) UTF-8 ALL', 'SORT () UTF-8 ALL', 'SORT (SUBJECT) ALL', 'SORT SUBJECT UTF-8 ALL', 'SORT (SUBJECT) UTF-8'].entries()) {
      assert.match(await c.command(`b${i + 2}`, command), new RegExp(`^b${i + 2} BAD`, 'm'), command);
    }
  });

  it('is refused before SELECT', async () => {
    const d = await RawClient.connect(server.port);
    assert.match(await d.command('l', `LOGIN ${creds.user} "${creds.password}"`), /^l OK/m);
    assert.match(await d.command('x', 'SORT (SUBJECT) UTF-8 ALL'), /^x BAD/m);
    d.close();
  });

  it('works for Python imaplib', async () => {
    const out = await imaplibSession(server.port, creds, `
out['subject'] = m.sort('(SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
out['reverse_date'] = m.sort('(REVERSE DATE)', 'UTF-8', 'ALL')[1][0].decode()
out['uid_from'] = m.uid('SORT', '(FROM)', 'UTF-8', 'UNSEEN')[1][0].decode()
`);
    assert.deepEqual(out, { subject: '2 4 5 1 3', reverse_date: '5 2 1 4 3', uid_from: '2 4' });
  });
});
