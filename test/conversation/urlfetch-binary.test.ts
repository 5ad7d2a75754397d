// Extended URLFETCH (RFC 5524, URLAUTH=BINARY) over a raw connection: a part's bytes with
// the Content-Transfer-Encoding removed (literal8 when they hold NUL), its structure as the
// decoded data is shaped, BODY as stored, NIL where a URL fails or a part cannot be decoded,
// and BAD for parameter lists RFC 5524 3.1 forbids.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const MESSAGE = Buffer.from(
  'From: <a@example.org>\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nH=C3=A4llo,\r\na long line that is cut with a soft =\r\nline break.\r\n' +
    `--b\r\nContent-Type: application/octet-stream; name="all.bin"\r\nContent-Disposition: attachment; filename="all.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${BYTES.toString('base64')}\r\n` +
    '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nzzz\r\n' +
    '--b--\r\n',
  'latin1',
);

describe('URLFETCH with BINARY and BODYPARTSTRUCTURE (RFC 5524)', function () {
  let server: TestServer;
  let c: RawClient;
  let user: string;

  before(async () => {
    server = await startTestServer();
    const creds = await server.addUser();
    user = creds.user;
    c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    const appended = await c.command('a', Buffer.concat([Buffer.from(`APPEND INBOX {${MESSAGE.length}+}\r\n`), MESSAGE]));
    assert.match(appended, /^a OK/m, appended);
  });
  after(async () => {
    c?.close();
    await server?.stop();
  });

  async function url(section: string, extra = ''): Promise<string> {
    const gen = await c.command('g', `GENURLAUTH "imap://${user}@localhost/INBOX/;UID=1/;SECTION=${section}${extra};URLAUTH=authuser" INTERNAL`);
    const m = /^\* GENURLAUTH "([^"]+)"/m.exec(gen);
    assert.ok(m, gen);
    return m[1];
  }

  it('advertises URLAUTH=BINARY', async () => {
    assert.match(await c.command('c', 'CAPABILITY'), /^\* CAPABILITY .*\bURLAUTH\b.*\bURLAUTH=BINARY\b/m);
  });

  it('BINARY gives the decoded bytes, as literal8 when they hold NUL, and the structure of that data (encoding as declared), all in one list', async () => {
    const u = await url('2');
    const r = await c.command('f', `URLFETCH ("${u}" BODYPARTSTRUCTURE BINARY)`);
    assert.match(r, /^f OK/m, r);
    const head = `* URLFETCH "${u}" (BODYPARTSTRUCTURE ("application" "octet-stream" ("name" "all.bin") NIL NIL "base64" 256 NIL ("attachment" ("filename" "all.bin")) NIL NIL) BINARY ~{256}\r\n`;
    assert.ok(r.startsWith(head), r.slice(0, 400));
    assert.ok(Buffer.from(r.slice(head.length, head.length + 256), 'latin1').equals(BYTES), 'the attachment, decoded');
    assert.equal(r.slice(head.length + 256, head.length + 259), ')\r\n');
  });

  it('decodes quoted-printable text (lines and size of the decoded text) and honours URL-PARTIAL on the decoded bytes', async () => {
    // The CRLF before the next boundary belongs to the boundary (RFC 2046 5.1.1).
    const text = Buffer.from('Hällo,\r\na long line that is cut with a soft line break.', 'utf8');
    const r = await c.command('f', `URLFETCH ("${await url('1')}" BINARY BODYPARTSTRUCTURE)`);
    assert.ok(r.includes(`(BODYPARTSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" ${text.length} 1 NIL NIL NIL NIL) BINARY {${text.length}}\r\n${text.toString('latin1')})`), r);
    const partial = await c.command('p', `URLFETCH ("${await url('1', '/;PARTIAL=1.2')}" BINARY)`);
    assert.ok(partial.includes(`(BINARY {2}\r\n${Buffer.from('ä').toString('latin1')})`), partial);
  });

  it('BODY is the part as stored, the same as plain URLFETCH; a URL in parentheses alone is plain URLFETCH', async () => {
    const u = await url('1');
    const plain = await c.command('f', `URLFETCH "${u}"`);
    const stored = /\{(\d+)\}\r\n/.exec(plain);
    assert.ok(stored, plain);
    const bytes = plain.slice(stored.index + stored[0].length, stored.index + stored[0].length + Number(stored[1]));
    assert.match(bytes, /^H=C3=A4llo,\r\n/);
    assert.ok((await c.command('b', `URLFETCH ("${u}" BODY)`)).includes(`"${u}" (BODY {${stored[1]}}\r\n${bytes})`));
    assert.equal(await c.command('f', `URLFETCH ("${u}")`), plain);
  });

  it('answers NIL for a part it cannot decode, a structure of a non-part section, and a failing URL', async () => {
    const unknown = await url('3');
    assert.ok((await c.command('f', `URLFETCH ("${unknown}" BINARY)`)).includes(`"${unknown}" (BINARY NIL)`));
    const header = await url('HEADER');
    assert.ok((await c.command('f', `URLFETCH ("${header}" BODYPARTSTRUCTURE)`)).includes(`"${header}" NIL`));
    const forged = (await url('2')).replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
    const r = await c.command('f', `URLFETCH ("${forged}" BINARY) ("${await url('1')}" BODY)`);
    assert.match(r, new RegExp(`^\\* URLFETCH "${forged.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" NIL "[^"]+" \\(BODY \\{`, 'm'));
  });

  it('refuses BINARY with BODY, a parameter given twice, an unknown one, an unclosed list', async () => {
    const u = await url('1');
    for (const args of [`("${u}" BINARY BODY)`, `("${u}" BINARY BINARY)`, `("${u}" SIZE)`, `("${u}" BINARY`]) {
      assert.match(await c.command('x', `URLFETCH ${args}`), /^x BAD /m, args);
    }
    assert.match(await c.command('n', 'NOOP'), /^n OK/m, 'the connection lives on');
  });
});
