// The FETCH item parser (RFC 9051 6.4.5 / 9 fetch-att, RFC 3516), and the pure helpers
// the response builder uses.
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/core/errors';
import { Parser } from '../../../src/imap/wire/parser';
import { fetchNeeds, itemKey, parseFetchItems, type FetchItem, type FetchItemOptions } from '../../../src/imap/fetch/items';
import { cut, internalDate, withoutNul } from '../../../src/imap/fetch/respond';

function parse(text: string, opts?: FetchItemOptions): FetchItem[] {
  const p = new Parser(Buffer.from(text, 'latin1'));
  const items = parseFetchItems(p, opts);
  p.end();
  return items;
}

function bad(text: string, pattern?: RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => err instanceof ProtocolError && err.imapStatus === 'BAD' && (!pattern || pattern.test(err.message)),
    `expected BAD for ${text}`,
  );
}

const kinds = (items: FetchItem[]) => items.map((i) => i.kind);
const keys = (items: FetchItem[]) => items.map(itemKey);

describe('FETCH items: simple items and macros', () => {
  it('parses each simple item, in any case', () => {
    assert.deepEqual(kinds(parse('(uid Flags INTERNALDATE rfc822.size ENVELOPE body BODYSTRUCTURE)')), [
      'uid',
      'flags',
      'internalDate',
      'rfc822Size',
      'envelope',
      'body',
      'bodyStructure',
    ]);
  });

  it('takes a single item without parentheses', () => {
    assert.deepEqual(kinds(parse('FLAGS')), ['flags']);
    assert.deepEqual(keys(parse('BODY.PEEK[HEADER]')), ['BODY[HEADER]']);
  });

  it('expands ALL, FAST and FULL (RFC 9051 6.4.5)', () => {
    assert.deepEqual(kinds(parse('FAST')), ['flags', 'internalDate', 'rfc822Size']);
    assert.deepEqual(kinds(parse('all')), ['flags', 'internalDate', 'rfc822Size', 'envelope']);
    assert.deepEqual(kinds(parse('Full')), ['flags', 'internalDate', 'rfc822Size', 'envelope', 'body']);
  });

  it('refuses macros inside a list', () => {
    bad('(ALL)', /macro/);
    bad('(FLAGS FAST)', /macro/);
  });

  it('maps RFC822, RFC822.HEADER and RFC822.TEXT to sections under their own names', () => {
    const [whole, header, text] = parse('(RFC822 RFC822.HEADER RFC822.TEXT)');
    assert.deepEqual(whole, { kind: 'section', label: 'RFC822', section: { part: [] }, range: null, peek: false });
    assert.deepEqual(header, { kind: 'section', label: 'RFC822.HEADER', section: { part: [], text: 'HEADER' }, range: null, peek: true });
    assert.deepEqual(text, { kind: 'section', label: 'RFC822.TEXT', section: { part: [], text: 'TEXT' }, range: null, peek: false });
  });

  it('answers each item once', () => {
    assert.deepEqual(kinds(parse('(FLAGS UID FLAGS uid)')), ['flags', 'uid']);
  });

  it('knows MODSEQ and EMAILID only when their extensions are on', () => {
    bad('(MODSEQ)', /Unknown fetch item MODSEQ/);
    bad('(EMAILID)', /Unknown fetch item EMAILID/);
    assert.deepEqual(kinds(parse('(MODSEQ EMAILID)', { condstore: true, objectId: true })), ['modseq', 'emailId']);
  });
});

describe('FETCH items: BODY[section]', () => {
  const one = (text: string) => {
    const items = parse(text);
    assert.equal(items.length, 1);
    const item = items[0];
    assert.equal(item.kind, 'section');
    return item as Extract<FetchItem, { kind: 'section' }>;
  };

  it('parses the whole message, HEADER and TEXT', () => {
    assert.deepEqual(one('BODY[]').section, { part: [] });
    assert.equal(one('BODY[]').peek, false);
    assert.equal(one('BODY.PEEK[]').peek, true);
    assert.deepEqual(one('BODY[header]').section, { part: [], text: 'HEADER' });
    assert.equal(one('BODY[header]').label, 'BODY[HEADER]');
    assert.deepEqual(one('BODY.PEEK[TEXT]').section, { part: [], text: 'TEXT' });
  });

  it('parses part numbers, nested, with HEADER/TEXT/MIME after them', () => {
    assert.deepEqual(one('BODY[1]').section, { part: [1] });
    assert.deepEqual(one('BODY[2.3.10]').section, { part: [2, 3, 10] });
    assert.deepEqual(one('BODY[4.2.MIME]').section, { part: [4, 2], text: 'MIME' });
    assert.equal(one('BODY[4.2.mime]').label, 'BODY[4.2.MIME]');
    assert.deepEqual(one('BODY[3.HEADER]').section, { part: [3], text: 'HEADER' });
    assert.deepEqual(one('BODY[3.TEXT]').section, { part: [3], text: 'TEXT' });
  });

  it('parses HEADER.FIELDS and HEADER.FIELDS.NOT, echoing names upper-cased as Dovecot does', () => {
    const f = one('BODY.PEEK[HEADER.FIELDS (From to X-Mailer)]');
    assert.deepEqual(f.section, { part: [], text: 'HEADER.FIELDS', fields: ['From', 'to', 'X-Mailer'] });
    assert.equal(f.label, 'BODY[HEADER.FIELDS (FROM TO X-MAILER)]');
    const n = one('BODY[1.HEADER.FIELDS.NOT (Received)]');
    assert.deepEqual(n.section, { part: [1], text: 'HEADER.FIELDS.NOT', fields: ['Received'] });
    assert.equal(n.label, 'BODY[1.HEADER.FIELDS.NOT (RECEIVED)]');
  });

  it('takes field names as quoted strings and literals, and echoes quoted ones quoted', () => {
    const q = one('BODY[HEADER.FIELDS ("Subject" date)]');
    assert.deepEqual(q.section.fields, ['Subject', 'date']);
    assert.equal(q.label, 'BODY[HEADER.FIELDS ("SUBJECT" DATE)]');
    const l = one('BODY[HEADER.FIELDS ({4}\r\nFrom)]');
    assert.deepEqual(l.section.fields, ['From']);
    assert.equal(l.label, 'BODY[HEADER.FIELDS ("FROM")]');
  });

  it('parses partials: origin and length, origin only, zero length', () => {
    const p = one('BODY[]<0.2048>');
    assert.deepEqual(p.range, { offset: 0, length: 2048 });
    assert.equal(itemKey(p), 'BODY[]<0.2048>');
    assert.deepEqual(one('BODY.PEEK[1.TEXT]<100.5>').range, { offset: 100, length: 5 });
    // Not in the RFC grammar, but Dovecot takes both; clients tested against it may send them.
    assert.deepEqual(one('BODY[]<7>').range, { offset: 7, length: null });
    assert.deepEqual(one('BODY[]<3.0>').range, { offset: 3, length: 0 });
  });

  it('merges BODY.PEEK[x] and BODY[x] into one non-peeking item', () => {
    const items = parse('(BODY.PEEK[1] BODY[1] BODY.PEEK[2])');
    assert.deepEqual(
      items.map((i) => (i.kind === 'section' ? [i.label, i.peek] : i.kind)),
      [
        ['BODY[1]', false],
        ['BODY[2]', true],
      ],
    );
  });

  it('keeps the same section with different partials apart', () => {
    assert.deepEqual(keys(parse('(BODY[]<0.10> BODY[]<10.10> BODY[])')), ['BODY[]<0.10>', 'BODY[]<10.10>', 'BODY[]']);
  });

  it('refuses malformed sections', () => {
    bad('(BODY[)');
    bad('(BODY[HEADER)');
    bad('(BODY[MIME])', /MIME needs a part number/);
    bad('(BODY[0])', /part number/);
    bad('(BODY[1.0])', /part number/);
    bad('(BODY[1..2])');
    bad('(BODY[1.])');
    bad('(BODY[HEADERS])', /Invalid section/);
    bad('(BODY[TEXT.MIME])');
    bad('(BODY[1.HEADER.FIELDS])', /space/);
    bad('(BODY[HEADER.FIELDS ()])', /Empty list/);
    bad('(BODY[HEADER.FIELDS(From)])');
    bad('(BODY[HEADER.FIELDS (From:)])', /Invalid header field name/);
    bad('(BODY[HEADER.FIELDS ("")])', /Invalid header field name/);
    bad('(BODY[HEADER.FIELDS From])', /list of header field names/);
    bad('(BODY[4294967296])', /part number/);
  });

  it('refuses malformed partials', () => {
    bad('(BODY[]<>)');
    bad('(BODY[]<1.2)');
    bad('(BODY[]<a.2>)');
    bad('(BODY[] <0.5>)');
  });

  it('refuses BODY.PEEK without a section', () => {
    bad('(BODY.PEEK)', /Unknown fetch item BODY.PEEK/);
  });
});

describe('FETCH items: BINARY (RFC 3516)', () => {
  it('parses BINARY, BINARY.PEEK and BINARY.SIZE with part numbers', () => {
    const items = parse('(BINARY[1.2] BINARY.PEEK[3]<0.100> BINARY.SIZE[] binary.size[4])');
    assert.deepEqual(items, [
      { kind: 'binary', label: 'BINARY[1.2]', part: [1, 2], range: null, peek: false },
      { kind: 'binary', label: 'BINARY[3]', part: [3], range: { offset: 0, length: 100 }, peek: true },
      { kind: 'binarySize', label: 'BINARY.SIZE[]', part: [] },
      { kind: 'binarySize', label: 'BINARY.SIZE[4]', part: [4] },
    ]);
  });

  it('refuses text sections, partials on BINARY.SIZE and a missing section', () => {
    bad('(BINARY[1.MIME])', /part number/);
    bad('(BINARY[HEADER])');
    bad('(BINARY.SIZE[1]<0.10>)', /no partial/);
    bad('(BINARY)', /Unknown fetch item/);
    bad('(BINARY.SIZE)', /Unknown fetch item/);
  });
});

describe('FETCH items: malformed lists', () => {
  it('refuses empty, unterminated and unknown lists', () => {
    bad('()');
    bad('(FLAGS');
    bad('(FLAGS  UID)');
    bad('(FLAGS )');
    bad('');
    bad('(FOO)', /Unknown fetch item FOO/);
    bad('X-GM-MSGID', /Unknown fetch item/);
    bad('(FLAGS)(UID)');
    bad('"FLAGS"');
  });
});

describe('FETCH needs', () => {
  it('says which items need the summary, the content, and which set \\Seen', () => {
    assert.deepEqual(fetchNeeds(parse('(FLAGS UID RFC822.SIZE INTERNALDATE)')), { summary: false, content: false, setsSeen: false });
    assert.deepEqual(fetchNeeds(parse('(ENVELOPE BODYSTRUCTURE)')), { summary: true, content: false, setsSeen: false });
    assert.deepEqual(fetchNeeds(parse('(BODY.PEEK[] BINARY.SIZE[1] RFC822.HEADER)')), { summary: false, content: true, setsSeen: false });
    assert.deepEqual(fetchNeeds(parse('RFC822')), { summary: false, content: true, setsSeen: true });
    assert.deepEqual(fetchNeeds(parse('RFC822.TEXT')), { summary: false, content: true, setsSeen: true });
    assert.deepEqual(fetchNeeds(parse('BINARY[1]')), { summary: false, content: true, setsSeen: true });
    assert.deepEqual(fetchNeeds(parse('BODY[1]<0.1>')), { summary: false, content: true, setsSeen: true });
  });
});

describe('FETCH response helpers', () => {
  it('formats INTERNALDATE as dd-Mon-yyyy hh:mm:ss +0000', () => {
    assert.equal(internalDate(new Date(Date.UTC(2024, 0, 5, 3, 4, 5))), '05-Jan-2024 03:04:05 +0000');
    assert.equal(internalDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59))), '31-Dec-1999 23:59:59 +0000');
  });

  it('cuts partials, an origin past the end giving an empty string', () => {
    const b = Buffer.from('0123456789');
    assert.equal(cut(b, null).toString(), '0123456789');
    assert.equal(cut(b, { offset: 2, length: 3 }).toString(), '234');
    assert.equal(cut(b, { offset: 8, length: 10 }).toString(), '89');
    assert.equal(cut(b, { offset: 10, length: 1 }).toString(), '');
    assert.equal(cut(b, { offset: 99, length: 1 }).toString(), '');
    assert.equal(cut(b, { offset: 4, length: null }).toString(), '456789');
    assert.equal(cut(b, { offset: 4, length: 0 }).toString(), '');
  });

  it('replaces NUL by 0x80 in non-binary literals without touching the input', () => {
    const input = Buffer.from([0x61, 0x00, 0x62, 0x00]);
    assert.deepEqual([...withoutNul(input)], [0x61, 0x80, 0x62, 0x80]);
    assert.deepEqual([...input], [0x61, 0x00, 0x62, 0x00]);
    const clean = Buffer.from('abc');
    assert.equal(withoutNul(clean), clean);
  });
});
