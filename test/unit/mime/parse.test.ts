import assert from 'node:assert/strict';
import { parseMessage, toJSON, fromJSON, MimePart } from '../../../src/mime/parse';
import { parseContentType } from '../../../src/mime/content-type';
import { crlf } from './helpers';

const body = (raw: Buffer, p: MimePart): string => raw.toString('latin1', p.headerEnd, p.bodyEnd);
const header = (raw: Buffer, p: MimePart): string => raw.toString('latin1', p.headerStart, p.headerEnd);

describe('mime/parse: headers (RFC 5322 2.2)', () => {
  it('splits header and body at the first blank line, keeping offsets', () => {
    const raw = crlf('Subject: hi\nFrom: a@b\n\nbody\n');
    const root = parseMessage(raw);
    assert.equal(header(raw, root), 'Subject: hi\r\nFrom: a@b\r\n\r\n');
    assert.equal(body(raw, root), 'body\r\n');
    assert.equal(root.bodySize, 6);
    assert.equal(root.bodyLines, 1);
    assert.deepEqual(root.headers.map((h) => [h.name, h.value]), [['Subject', 'hi'], ['From', 'a@b']]);
  });

  it('unfolds folded fields, keeping WSP of continuation lines, and records field extents', () => {
    const raw = crlf('Subject: a\n  b\n\tc\nX: y\n\n');
    const [subject] = parseMessage(raw).headers;
    assert.equal(subject.value, 'a  b\tc');
    assert.equal(raw.toString('latin1', subject.start, subject.end), 'Subject: a\r\n  b\r\n\tc\r\n');
  });

  it('drops WSP after the colon only on the first line (Dovecot)', () => {
    const root = parseMessage(crlf('Date: \n   <HR>\nSubject :  x \n\n'));
    assert.deepEqual(root.headers.map((h) => [h.name, h.value]), [['Date', '   <HR>'], ['Subject', 'x ']]);
  });

  it('treats a message without a blank line as all header', () => {
    const raw = Buffer.from('From: a@b\r\nSubject: no body', 'latin1');
    const root = parseMessage(raw);
    assert.equal(root.headerEnd, raw.length);
    assert.equal(root.bodyEnd, raw.length);
    assert.equal(root.bodySize, 0);
    assert.equal(root.headers[1].value, 'no body');
  });

  it('handles LF-only line ends, bare CR, NUL and 8-bit bytes without throwing', () => {
    const raw = Buffer.from('Subject: caf\xe9\0x\nX-A: a\rb\n\nline1\nline2\r', 'latin1');
    const root = parseMessage(raw);
    assert.equal(root.headers[0].value, 'caf\xe9\0x');
    assert.equal(root.headers[1].value, 'a\rb');
    assert.equal(body(raw, root), 'line1\nline2\r');
    assert.equal(root.bodyLines, 1);
  });

  it('starts the body right away when the message begins with a blank line', () => {
    const raw = crlf('\nbody');
    const root = parseMessage(raw);
    assert.equal(root.headers.length, 0);
    assert.equal(root.headerEnd, 2);
  });

  it('keeps a line without a colon as a field with an empty value', () => {
    const root = parseMessage(crlf('From a@b Mon\nSubject: x\n\n'));
    assert.deepEqual(root.headers.map((h) => [h.name, h.value]), [['From a@b Mon', ''], ['Subject', 'x']]);
  });
});

describe('mime/parse: MIME fields (RFC 2045)', () => {
  it('defaults to text/plain; charset=us-ascii and 7bit (RFC 2045 5.2, 6.1)', () => {
    const root = parseMessage(crlf('Subject: x\n\nb'));
    assert.deepEqual(root.contentType, { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] });
    assert.equal(root.encoding, '7bit');
    assert.equal(root.disposition, null);
  });

  it('keeps type, subtype and parameter names as written; appends a missing text charset', () => {
    const ct = parseMessage(crlf('Content-Type: TEXT/Plain; Format=flowed (comment)\n\n')).contentType;
    assert.deepEqual(ct, { type: 'TEXT', subtype: 'Plain', params: [['Format', 'flowed'], ['charset', 'us-ascii']] });
  });

  it('tolerates whitespace and comments around tokens, and quoted values with escapes', () => {
    assert.deepEqual(parseContentType('text / html ; charset = "utf-8" ; x="a\\"b"'), {
      type: 'text',
      subtype: 'html',
      params: [['charset', 'utf-8'], ['x', 'a"b']],
    });
  });

  it('gives "" "" for an unparsable Content-Type (Dovecot) and keeps a type without subtype', () => {
    for (const v of ['', 'text/', '/plain', '"text"/plain']) assert.deepEqual(parseContentType(v), { type: '', subtype: '', params: [] });
    assert.deepEqual(parseContentType('foo'), { type: 'foo', subtype: '', params: [] });
  });

  it('skips broken parameters and keeps an unquoted encoded word as a value', () => {
    assert.deepEqual(parseContentType('text/plain; bad; =x; a=b; n==?utf-8?B?QQ==?=; y="open').params, [
      ['a', 'b'],
      ['n', '=?utf-8?B?QQ==?='],
    ]);
  });

  it('merges RFC 2231 continuations as Dovecot does (still encoded, "name*")', () => {
    const ct = parseContentType(
      "text/plain; title*2=\"c d\"; title*0*=us-ascii'en'This%20is; title*1*=%2A%2Afun; a*1=y; a*0=x; b*0*=utf-8''%41; b*1=%42; c*0=p; c*2=q; z=1",
    );
    assert.deepEqual(ct.params, [
      ['z', '1'],
      ['a', 'xy'],
      ['b*', "utf-8''%41%2542"],
      ['c*0', 'p'],
      ['c*2', 'q'],
      ['title*', "us-ascii'en'This%20is%2A%2Afunc d"],
    ]);
  });

  it('reads the other MIME fields; the first Content-Type wins', () => {
    const root = parseMessage(
      crlf(
        'Content-Type: image/gif\nContent-Type: text/plain\nContent-Transfer-Encoding: BASE64 (c)\nContent-ID: <id@x>\n' +
          'Content-Description: desc\nContent-Disposition: attachment; filename="a.gif"\nContent-Language: en-US (x), de\n' +
          'Content-Location: http://x/y\nContent-MD5: abc==\n\nR0lG\n',
      ),
    );
    assert.equal(root.contentType.type, 'image');
    assert.equal(root.encoding, 'BASE64');
    assert.equal(root.id, '<id@x>');
    assert.equal(root.description, 'desc');
    assert.deepEqual(root.disposition, { value: 'attachment', params: [['filename', 'a.gif']] });
    assert.deepEqual(root.language, ['en-US', 'de']);
    assert.equal(root.location, 'http://x/y');
    assert.equal(root.md5, 'abc==');
  });

  it('reports junk transfer encodings as 7bit (Dovecot)', () => {
    for (const v of ['quoted printable', 'text/html', 'quoted-printable;', '']) {
      assert.equal(parseMessage(crlf(`Content-Transfer-Encoding: ${v}\n\nx`)).encoding, '7bit', v);
    }
  });
});

describe('mime/parse: multipart (RFC 2046 5.1)', () => {
  it('finds parts; preamble, epilogue and the CRLF before each delimiter belong to no part', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary="b"\n\npreamble\n--b\nContent-Type: text/html\n\n<p>\n\n--b \n\nB\n--b--\nepilogue\n');
    const root = parseMessage(raw);
    assert.equal(root.children.length, 2);
    assert.equal(header(raw, root.children[0]), 'Content-Type: text/html\r\n\r\n');
    assert.equal(body(raw, root.children[0]), '<p>\r\n');
    assert.equal(body(raw, root.children[1]), 'B');
    assert.equal(root.bodyEnd, raw.length);
  });

  it('accepts a delimiter at the very start of the body and LF-only messages', () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\r\n\r\n--b--\n', 'latin1');
    const root = parseMessage(raw);
    assert.deepEqual(root.children.map((c) => body(raw, c)), ['A', 'B\r\n']);
  });

  it('requires the delimiter at a line start', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA --b\n--b--\n');
    assert.deepEqual(parseMessage(raw).children.map((c) => body(raw, c)), ['A --b']);
  });

  it('nests multiparts, and ends an unclosed inner one at the outer delimiter', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n' +
        '--inner\n\nA\n--inner\nContent-Type: text/html\n\n<b>\n--outer\n\nlast\n--outer--\n',
    );
    const root = parseMessage(raw);
    assert.equal(root.children.length, 2);
    const alt = root.children[0];
    assert.deepEqual(alt.children.map((c) => body(raw, c)), ['A', '<b>']);
    assert.equal(body(raw, root.children[1]), 'last');
  });

  it('lets the longest matching boundary win when one is a prefix of another', () => {
    const a = crlf('Content-Type: multipart/mixed; boundary="abc"\n\n--abc\nContent-Type: multipart/alternative; boundary=abcdef\n\n--abcdef\n\nA\n--abcdef\n\nB\n--abc\n\nlast\n--abc--\n');
    const ra = parseMessage(a);
    assert.deepEqual(ra.children[0].children.map((c) => body(a, c)), ['A', 'B']);
    assert.equal(body(a, ra.children[1]), 'last');
    const b = crlf('Content-Type: multipart/mixed; boundary="abcdef"\n\n--abcdef\nContent-Type: multipart/alternative; boundary=abc\n\n--abc\n\nA\n--abcdef\n\nB\n--abcdef--\n');
    const rb = parseMessage(b);
    assert.equal(rb.children.length, 2);
    assert.deepEqual(rb.children[0].children.map((c) => body(b, c)), ['A']);
    assert.equal(body(b, rb.children[1]), 'B');
  });

  it('ignores what follows the boundary on a delimiter line (Dovecot)', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--bxyz\n\nA\n--b garbage\n\nB\n--b--x\n\nC\n');
    assert.deepEqual(parseMessage(raw).children.map((c) => body(raw, c)), ['A', 'B']);
  });

  it('survives a missing close delimiter, a missing boundary parameter, and no delimiter at all', () => {
    const open = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\n');
    assert.deepEqual(parseMessage(open).children.map((c) => body(open, c)), ['A', 'B\r\n']);
    assert.equal(parseMessage(crlf('Content-Type: multipart/mixed\n\n--b\n\nA\n')).children.length, 0);
    assert.equal(parseMessage(crlf('Content-Type: multipart/mixed; boundary=b\n\npreamble only\n')).children.length, 0);
  });

  it('ends a part header at a delimiter when the blank line is missing', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\nX-A: 1\n\nB\n--b--');
    const root = parseMessage(raw);
    assert.equal(header(raw, root.children[0]), 'Content-Type: text/html');
    assert.equal(root.children[0].bodySize, 0);
    assert.equal(root.children[0].contentType.subtype, 'html');
    assert.equal(body(raw, root.children[1]), 'B');
  });

  it('gives a delimiter right after a blank line that line end (Dovecot)', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n--b\nContent-Type: message/rfc822\n\nSubject: x\n\n--b--\n');
    const root = parseMessage(raw);
    assert.equal(header(raw, root.children[0]), 'Content-Type: text/plain\r\n');
    const msg = root.children[1];
    assert.equal(body(raw, msg), 'Subject: x\r\n\r\n');
    assert.equal(msg.bodyLines, 2);
    assert.equal(header(raw, msg.message as MimePart), 'Subject: x\r\n');
  });

  it('defaults parts of multipart/digest to message/rfc822 (RFC 2046 5.1.5)', () => {
    const raw = crlf('Content-Type: multipart/digest; boundary="b"\n\n--b\n\nSubject: d1\n\nbody1\n--b\nContent-Type: text/plain\n\nt\n--b--\n');
    const root = parseMessage(raw);
    assert.deepEqual(root.children[0].contentType, { type: 'message', subtype: 'rfc822', params: [] });
    assert.equal(root.children[0].message?.headers[0].value, 'd1');
    assert.equal(root.children[1].contentType.type, 'text');
  });
});

describe('mime/parse: embedded messages (RFC 2046 5.2.1, RFC 6532 3.5)', () => {
  it('parses message/rfc822 and message/global bodies as messages', () => {
    for (const sub of ['rfc822', 'global']) {
      const raw = crlf(`Content-Type: message/${sub}\n\nSubject: inner\nFrom: a@b\n\nhello\n`);
      const root = parseMessage(raw);
      const inner = root.message as MimePart;
      assert.equal(inner.headers[0].value, 'inner');
      assert.equal(body(raw, inner), 'hello\r\n');
      assert.equal(root.bodySize, 36);
      assert.equal(root.bodyLines, 4);
    }
  });

  it('bounds nesting depth instead of recursing without end', () => {
    const raw = Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(5000) + 'x', 'latin1');
    let depth = 0;
    for (let p: MimePart | undefined = parseMessage(raw); p; p = p.message) depth++;
    assert.ok(depth > 50 && depth <= 102, `depth ${depth}`);
  });
});

describe('mime/parse: JSON and performance', () => {
  it('round-trips through JSON', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: x\n\ny\n--b--\n');
    const root = parseMessage(raw);
    assert.deepEqual(fromJSON(toJSON(root)), root);
    assert.throws(() => fromJSON('{"a":1}'), TypeError);
  });

  it('parses a 10 MB message with many parts in linear time', () => {
    const part = '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' + 'QUJD'.repeat(19).concat('\r\n').repeat(1000);
    const big = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + part.repeat(130) + '--b--\r\n', 'latin1');
    assert.ok(big.length > 10_000_000);
    const t0 = process.hrtime.bigint();
    const root = parseMessage(big);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(root.children.length, 130);
    assert.equal(root.children[0].bodyLines, 999); // the last CRLF belongs to the delimiter
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});
