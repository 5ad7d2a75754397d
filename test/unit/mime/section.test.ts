import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/parse';
import { SectionSpec, decodedSection, decodedSize, sectionBytes } from '../../../src/mime/section';
import { crlf } from './helpers';

function section(raw: Buffer, spec: SectionSpec): string | null {
  const b = sectionBytes(raw, parseMessage(raw), spec);
  return b === null ? null : b.toString('latin1');
}

const MIXED = crlf(
  'From: a@b\nSubject: s\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\none\n' +
    '--b\nContent-Type: message/rfc822\nX-Part: 2\n\nSubject: inner\nX-Long: a\n b\n\n' +
    'inner body\n--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\nalt1\n--c\nContent-Type: text/html\n\n<p>alt2</p>\n--c--\n--b--\n',
);

describe('mime/section: BODY[section] (RFC 9051 6.4.5)', () => {
  it('BODY[] is the whole message, byte-exact, including odd line ends', () => {
    const raw = Buffer.from('Subject: x\n\r\n\0b\rc', 'latin1');
    const got = sectionBytes(raw, parseMessage(raw), { part: [] });
    assert.ok(got && got.equals(raw));
  });

  it('HEADER includes the blank line; TEXT is the body', () => {
    assert.equal(section(MIXED, { part: [], text: 'HEADER' }), 'From: a@b\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n');
    assert.equal(section(MIXED, { part: [], text: 'TEXT' })?.startsWith('pre\r\n--b\r\n'), true);
  });

  it('HEADER.FIELDS keeps matching fields in message order, folded, plus CRLF', () => {
    assert.equal(section(MIXED, { part: [], text: 'HEADER.FIELDS', fields: ['SUBJECT', 'from'] }), 'From: a@b\r\nSubject: s\r\n\r\n');
    assert.equal(section(MIXED, { part: [], text: 'HEADER.FIELDS', fields: ['X-None'] }), '\r\n');
    assert.equal(section(MIXED, { part: [2], text: 'HEADER.FIELDS', fields: ['x-long'] }), 'X-Long: a\r\n b\r\n\r\n');
    assert.equal(section(MIXED, { part: [], text: 'HEADER.FIELDS.NOT', fields: ['Content-Type', 'from'] }), 'Subject: s\r\n\r\n');
  });

  it('HEADER.FIELDS ends an unterminated last field with CRLF (Dovecot)', () => {
    const raw = Buffer.from('From: a@b\r\nSubject: no body', 'latin1');
    assert.equal(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['subject'] }), 'Subject: no body\r\n\r\n');
  });

  it('numbers parts of a multipart; N.MIME is the part header', () => {
    assert.equal(section(MIXED, { part: [1] }), 'one');
    assert.equal(section(MIXED, { part: [1], text: 'MIME' }), 'Content-Type: text/plain\r\n\r\n');
    assert.equal(section(MIXED, { part: [3, 1] }), 'alt1');
    assert.equal(section(MIXED, { part: [3, 2] }), '<p>alt2</p>');
    assert.equal(section(MIXED, { part: [3, 2], text: 'MIME' }), 'Content-Type: text/html\r\n\r\n');
    assert.equal(section(MIXED, { part: [3] })?.startsWith('--c\r\n'), true);
  });

  it('message/rfc822 part N: [N] is the message, N.HEADER / N.TEXT / N.1 are inside it', () => {
    assert.equal(section(MIXED, { part: [2] }), 'Subject: inner\r\nX-Long: a\r\n b\r\n\r\ninner body');
    assert.equal(section(MIXED, { part: [2], text: 'MIME' }), 'Content-Type: message/rfc822\r\nX-Part: 2\r\n\r\n');
    assert.equal(section(MIXED, { part: [2], text: 'HEADER' }), 'Subject: inner\r\nX-Long: a\r\n b\r\n\r\n');
    assert.equal(section(MIXED, { part: [2], text: 'TEXT' }), 'inner body');
    assert.equal(section(MIXED, { part: [2, 1] }), 'inner body');
  });

  it('a non-multipart message: [1] is its body, [1.MIME] its header', () => {
    const raw = crlf('Subject: x\n\nbody\n');
    assert.equal(section(raw, { part: [1] }), 'body\r\n');
    assert.equal(section(raw, { part: [1], text: 'MIME' }), 'Subject: x\r\n\r\n');
    assert.equal(section(raw, { part: [2] }), null);
    assert.equal(section(raw, { part: [1, 1] }), null);
  });

  it('a top-level message/rfc822: [1] is the embedded message, [1.1] its body', () => {
    const raw = crlf('Content-Type: message/rfc822\n\nSubject: inner\n\nhello\n');
    assert.equal(section(raw, { part: [1] }), 'Subject: inner\r\n\r\nhello\r\n');
    assert.equal(section(raw, { part: [1, 1] }), 'hello\r\n');
    assert.equal(section(raw, { part: [1], text: 'HEADER' }), 'Subject: inner\r\n\r\n');
  });

  it('answers null for sections that do not exist', () => {
    assert.equal(section(MIXED, { part: [9] }), null);
    assert.equal(section(MIXED, { part: [0] }), null);
    assert.equal(section(MIXED, { part: [1, 1] }), null);
    assert.equal(section(MIXED, { part: [1], text: 'HEADER' }), null);
    assert.equal(section(MIXED, { part: [], text: 'MIME' }), null);
    assert.equal(section(crlf('Content-Type: multipart/mixed; boundary=b\n\nno parts\n'), { part: [1] }), null);
  });

  it('does not descend into message/global unless asked (Dovecot 2.3)', () => {
    const raw = crlf('Content-Type: message/global\n\nSubject: g\n\nbody\n');
    const root = parseMessage(raw);
    assert.equal(sectionBytes(raw, root, { part: [1, 1] }), null);
    assert.equal(sectionBytes(raw, root, { part: [1, 1] }, { messageGlobal: true })?.toString(), 'body\r\n');
  });
});

describe('mime/section: BINARY[section] (RFC 3516)', () => {
  const raw = crlf(
    'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\nAAEC\n/w==\n' +
      '--b\nContent-Transfer-Encoding: Quoted-Printable\n\ncaf=C3=A9=\n!\n--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n' +
      '--b\nContent-Transfer-Encoding: 8bit\n\n\xe9\n--b\nContent-Transfer-Encoding: quoted printable\n\nx\n--b--\n',
  );
  const root = parseMessage(raw);

  it('decodes base64 and quoted-printable, passes identity encodings through', () => {
    assert.deepEqual(decodedSection(raw, root, [1]), { bytes: Buffer.from([0, 1, 2, 255]) });
    assert.deepEqual(decodedSection(raw, root, [2]), { bytes: Buffer.from('café!', 'utf8') });
    assert.deepEqual(decodedSection(raw, root, [4]), { bytes: Buffer.from([0xe9]) });
  });

  it('reports unknown or malformed encodings as UNKNOWN-CTE', () => {
    assert.deepEqual(decodedSection(raw, root, [3]), { error: 'UNKNOWN-CTE' });
    assert.deepEqual(decodedSection(raw, root, [5]), { error: 'UNKNOWN-CTE' });
  });

  it('gives BINARY.SIZE, null for missing parts, and the raw message for []', () => {
    assert.deepEqual(decodedSize(raw, root, [1]), { size: 4 });
    assert.deepEqual(decodedSize(raw, root, [3]), { error: 'UNKNOWN-CTE' });
    assert.equal(decodedSection(raw, root, [7]), null);
    const all = decodedSection(raw, root, []);
    assert.ok(all && 'bytes' in all && all.bytes.equals(raw));
  });

  it('a message or multipart part keeps its bytes with every leaf inside decoded and marked binary (Dovecot)', () => {
    const nested = crlf(
      'From: a@b\nContent-Type: multipart/mixed; boundary=x\n\npro\n--x\nContent-Type: message/rfc822\n\n' +
        'Subject: in\nContent-Type: multipart/alternative; boundary=y\n\nprologue\n--y\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n' +
        '--y\nContent-Transfer-Encoding: Quoted-Printable\nX-After: kept\n\na=3Db\n--y--\nepilogue\n--x--\n',
    );
    const tree = parseMessage(nested);
    const inner = crlf(
      'Subject: in\nContent-Type: multipart/alternative; boundary=y\n\nprologue\n--y\nContent-Type: text/plain\nContent-Transfer-Encoding: binary\n\nhello world\n' +
        '--y\nContent-Transfer-Encoding: binary\nX-After: kept\n\na=b\n--y--\nepilogue',
    );
    const asMessage = decodedSection(nested, tree, [1]);
    assert.ok(asMessage && 'bytes' in asMessage);
    assert.equal(asMessage.bytes.toString('latin1'), inner.toString('latin1'));
    assert.deepEqual(decodedSection(nested, tree, [1, 1]), { bytes: Buffer.from('hello world') });
    assert.deepEqual(decodedSection(nested, tree, [1, 2]), { bytes: Buffer.from('a=b') });
    // A multipart part without encoded leaves comes as stored.
    const alt = decodedSection(MIXED, parseMessage(MIXED), [3]);
    assert.ok(alt && 'bytes' in alt);
    assert.equal(alt.bytes.toString('latin1'), sectionBytes(MIXED, parseMessage(MIXED), { part: [3] })!.toString('latin1'));
    assert.deepEqual(decodedSize(nested, tree, [1]), { size: inner.length });
  });
});
