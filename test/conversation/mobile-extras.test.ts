// Smaller mobile extensions over real TCP: WITHIN (RFC 5032), PREVIEW (RFC 8970),
// UNAUTHENTICATE (RFC 8437) and the LEMONADE keywords $Forwarded, $SubmitPending and
// $Submitted (RFC 5550 5); Python's imaplib as an independent client for the first two.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';
import { userWithInbox } from '../support/mailbox';
import { imaplibSession } from '../support/python';
const HOUR = 3_600_000;

const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join('  \t ');

const MESSAGES = [
  {
    // Plain text with a quoted reply and folded whitespace; ten days old.
    raw: Buffer.from(
      ['Subject: plain', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', 'Hallo  Gr=C3=BC=C3=9Fe', '> quoted line', '', 'bye', ''].join('\r\n'),
    ),
    internalDate: new Date(Date.now() - 240 * HOUR),
  },
  {
    // HTML only, inside multipart/mixed with an attachment first; an hour old.
    raw: Buffer.from(
      [
        'Subject: html',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain; name=a.txt',
        'Content-Disposition: attachment; filename=a.txt',
        '',
        'attached text, not a preview',
        '--b',
        'Content-Type: text/html; charset=us-ascii',
        '',
        '<html><head><style>p {color: red}</style></head><body><p>Hi &amp; welcome</p>&#x263A;</body></html>',
        '--b--',
        '',
      ].join('\r\n'),
    ),
    internalDate: new Date(Date.now() - HOUR),
  },
  {
    // No text at all; a long body in a second message instead; now.
    raw: Buffer.from(['Subject: image', 'Content-Type: image/png', 'Content-Transfer-Encoding: base64', '', 'iVBORw0KGgo=', ''].join('\r\n')),
    internalDate: new Date(),
  },
  {
    raw: Buffer.from(['Subject: long', '', LONG, ''].join('\r\n')),
    internalDate: new Date(),
  },
];

describe('WITHIN, PREVIEW, UNAUTHENTICATE, LEMONADE keywords', function () {
  let server: TestServer;
  let creds: { user: string; password: string };

  before(async () => {
    server = await startTestServer();
    creds = await userWithInbox(server, MESSAGES.map((m) => ({ ...m, flags: [] })));
  });
  after(async () => server?.stop());

  async function session(): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('l', `LOGIN ${creds.user} "${creds.password}"`), /^l OK/m);
    assert.match(await c.command('s', 'SELECT INBOX'), /^s OK/m);
    return c;
  }

  it('advertises WITHIN, PREVIEW and UNAUTHENTICATE', async () => {
    const c = await RawClient.connect(server.port);
    const r = await c.command('c', 'CAPABILITY');
    for (const cap of ['WITHIN', 'PREVIEW', 'UNAUTHENTICATE']) assert.match(r, new RegExp(` ${cap}( |\\r)`));
    c.close();
  });

  it('searches by age with OLDER and YOUNGER (WITHIN)', async () => {
    const c = await session();
    assert.equal(await c.command('a', 'SEARCH YOUNGER 7200'), '* SEARCH 2 3 4\r\na OK SEARCH completed\r\n');
    assert.equal(await c.command('b', 'SEARCH OLDER 86400'), '* SEARCH 1\r\nb OK SEARCH completed\r\n');
    assert.equal(await c.command('c', 'SEARCH OLDER 1800 YOUNGER 86400'), '* SEARCH 2\r\nc OK SEARCH completed\r\n');
    assert.equal(await c.command('d', 'UID SEARCH NOT YOUNGER 1800'), '* SEARCH 1 2\r\nd OK UID SEARCH completed\r\n');
    assert.equal(await c.command('e', 'SEARCH RETURN (COUNT) OLDER 4000000000'), '* ESEARCH (TAG "e") COUNT 0\r\ne OK SEARCH completed\r\n');
    for (const [i, bad] of ['SEARCH OLDER', 'SEARCH OLDER 0', 'SEARCH YOUNGER -5', 'SEARCH YOUNGER x'].entries()) {
      assert.match(await c.command(`b${i}`, bad), new RegExp(`^b${i} BAD`, 'm'), bad);
    }
    c.close();
  });

  it('answers FETCH PREVIEW and PREVIEW (LAZY)', async () => {
    const c = await session();
    const r = await c.command('p', 'FETCH 1:3 (PREVIEW)');
    // Not UTF8=ACCEPT: 8-bit text goes in a literal.
    const grusse = Buffer.from('Hallo Grüße bye', 'utf8');
    assert.equal(
      r,
      `* 1 FETCH (PREVIEW {${grusse.length}}\r\n${grusse.toString('latin1')})\r\n` +
        `* 2 FETCH (PREVIEW {${Buffer.byteLength('Hi & welcome ☺')}}\r\n${Buffer.from('Hi & welcome ☺').toString('latin1')})\r\n` +
        '* 3 FETCH (PREVIEW "")\r\np OK FETCH completed\r\n',
    );
    const lazy = await c.command('q', 'UID FETCH 4 (FLAGS PREVIEW (LAZY))');
    const m = /PREVIEW "([^"]*)"\)/.exec(lazy);
    assert.ok(m, lazy);
    // At most 200 characters, cut where it fits (a trailing space is dropped).
    const length = Array.from(m[1]).length;
    assert.ok(length <= 200 && length >= 195, `${length} characters`);
    assert.ok(m[1].startsWith('word0 word1 word2 '), m[1]);
    assert.match(await c.command('x', 'FETCH 1 PREVIEW (FOO)'), /^x BAD/m);
    // With UTF8=ACCEPT the text is a quoted string.
    assert.match(await c.command('u', 'ENABLE UTF8=ACCEPT'), /^u OK/m);
    assert.equal(
      Buffer.from(await c.command('v', 'FETCH 1 PREVIEW'), 'latin1').toString('utf8'),
      '* 1 FETCH (PREVIEW "Hallo Grüße bye")\r\nv OK FETCH completed\r\n',
    );
    c.close();
  });

  it('goes back to the not-authenticated state with UNAUTHENTICATE', async () => {
    const other = await server.addUser();
    const c = await session();
    await c.compress();
    assert.equal(await c.command('u', 'UNAUTHENTICATE'), 'u OK UNAUTHENTICATE completed\r\n');
    assert.match(await c.command('f', 'FETCH 1 FLAGS'), /^f BAD/m);
    assert.match(await c.command('n', 'NOOP'), /^n OK/m);
    assert.match(await c.command('u2', 'UNAUTHENTICATE'), /^u2 BAD/m);
    assert.match(await c.command('l', `LOGIN ${other.user} "${other.password}"`), /^l OK/m);
    assert.match(await c.command('s', 'SELECT INBOX'), /^\* 0 EXISTS/m);
    // Events of the first user no longer reach this session.
    const first = await session();
    const msg = 'Subject: x\r\n\r\nx\r\n';
    await first.command('a', `APPEND INBOX {${msg.length}+}\r\n${msg}`);
    assert.doesNotMatch(await c.command('n2', 'NOOP'), /EXISTS/);
    assert.match(await first.command('d', 'STORE 5 +FLAGS.SILENT (\\Deleted)'), /^d OK/m);
    assert.match(await first.command('e', 'EXPUNGE'), /^e OK/m);
    first.close();
    c.close();
  });

  it('keeps the LEMONADE keywords $Forwarded, $SubmitPending and $Submitted', async () => {
    const c = await session();
    assert.match(await c.command('s', 'STORE 1 +FLAGS ($Forwarded)'), /^\* 1 FETCH \(FLAGS \(\$Forwarded\)\)/m);
    const draft = 'Subject: outgoing\r\n\r\nsend me\r\n';
    const a = await c.command('a', `APPEND INBOX ($SubmitPending \\Draft) {${draft.length}+}\r\n${draft}`);
    const uid = Number(/APPENDUID \d+ (\d+)/.exec(a)?.[1]);
    assert.ok(uid > 0, a);
    assert.match(await c.command('b', `UID STORE ${uid} FLAGS ($Submitted \\Draft)`), /FLAGS \(\$Submitted \\Draft\)|FLAGS \(\\Draft \$Submitted\)/);
    c.close();
    // A new session sees them, in FLAGS and in SEARCH.
    const d = await session();
    const flags = await d.command('f', `UID FETCH 1,${uid} FLAGS`);
    assert.match(flags, /UID 1 FLAGS \(\$Forwarded\)/);
    assert.match(flags, new RegExp(`UID ${uid} FLAGS \\((\\$Submitted \\\\Draft|\\\\Draft \\$Submitted)\\)`));
    assert.equal(await d.command('k', 'UID SEARCH KEYWORD $Submitted'), `* SEARCH ${uid}\r\nk OK UID SEARCH completed\r\n`);
    assert.equal(await d.command('g', 'UID SEARCH KEYWORD $SubmitPending'), '* SEARCH\r\ng OK UID SEARCH completed\r\n');
    assert.match(await d.command('x', `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`), /^x OK/m);
    assert.match(await d.command('y', `UID EXPUNGE ${uid}`), /^y OK/m);
    assert.match(await d.command('z', 'STORE 1 -FLAGS.SILENT ($Forwarded)'), /^z OK/m);
    d.close();
  });

  it('works for Python imaplib', async () => {
    const out = await imaplibSession(server.port, creds, `
out['younger'] = m.search(None, 'YOUNGER', '7200')[1][0].decode()
out['older'] = m.uid('SEARCH', 'OLDER', '86400')[1][0].decode()
typ, data = m.fetch('2', '(PREVIEW)')
out['preview'] = data[0][1].decode('utf-8') if isinstance(data[0], tuple) else data[0].decode()
`);
    assert.deepEqual(out, { younger: '2 3 4', older: '1', preview: 'Hi & welcome ☺' });
  });
});
