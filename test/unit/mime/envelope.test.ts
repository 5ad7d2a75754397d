import assert from 'node:assert/strict';
import { parseAddressList } from '../../../src/mime/address';
import { parseMessage } from '../../../src/mime/parse';
import { envelope } from '../../../src/imap/fetch/envelope';
import { crlf, wire } from './helpers';

const env = (raw: Buffer, utf8 = false): string => wire(envelope(raw, parseMessage(raw), utf8));
const addrs = (value: string): string => wire(parseAddressList(value).map((a) => [a.name, a.adl, a.mailbox, a.host].map((x) => (x === null ? null : `"${x}"`))));

describe('imap/fetch/envelope (RFC 9051 7.5.2)', () => {
  it('lists the ten fields; sender and reply-to default to from', () => {
    const raw = crlf('Date: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: hi\nFrom: "Doe, John" <john@example.com>\nTo: x@y\nIn-Reply-To: <a@b>\nMessage-ID: <id@host>\n\nb');
    const from = '(("Doe, John" NIL "john" "example.com"))';
    assert.equal(env(raw), `("Mon, 1 Jan 2024 00:00:00 +0000" "hi" ${from} ${from} ${from} ((NIL NIL "x" "y")) NIL NIL "<a@b>" "<id@host>")`);
  });

  it('gives NIL for absent fields, "" for an empty subject, from for empty sender/reply-to', () => {
    const raw = crlf('Subject:\nFrom: a@b\nSender:\nReply-To:   \n\n');
    assert.equal(env(raw), '(NIL "" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)');
  });

  it('keeps encoded words, unfolds, and collapses whitespace in subject and names only', () => {
    const raw = crlf('Date: Mon, 1 Jan 2024 \n  00:00 +0000 \nSubject: =?utf-8?q?h=C3=A9?=\n \n\tfolded  x \nFrom: =?utf-8?b?w6k=?=  x <e@f>\nIn-Reply-To: <x@y>  <z@w>\n\n');
    assert.ok(env(raw).startsWith('("Mon, 1 Jan 2024   00:00 +0000 " "=?utf-8?q?h=C3=A9?= folded x" (("=?utf-8'));
    assert.ok(env(raw).includes('(("=?utf-8?b?w6k=?= x" NIL "e" "f"))'));
    assert.ok(env(raw).endsWith('"<x@y>  <z@w>" NIL)'));
  });

  it('uses the last subject but all address fields together (Dovecot)', () => {
    const raw = crlf('Subject: first\nSubject: second\nFrom: a@b\nFrom: c@d\n\n');
    assert.equal(env(raw).slice(0, 60), '(NIL "second" ((NIL NIL "a" "b")(NIL NIL "c" "d")) ((NIL NIL');
  });

  it('sends 8-bit bytes unchanged in a literal, or as UTF-8 quoted text with utf8', () => {
    const raw = Buffer.from('Subject: caf\xc3\xa9\r\nFrom: Ab\xe9 <g@h>\r\n\r\n', 'latin1');
    assert.ok(env(raw).startsWith('(NIL {5}\r\ncaf\xc3\xa9 (({3}\r\nAb\xe9 NIL "g" "h"))'));
    assert.ok(env(raw, true).startsWith('(NIL "caf\xc3\xa9" (({3}\r\nAb\xe9 NIL'), env(raw, true));
  });

  it('replaces NUL, which no IMAP string may hold, with 0x80', () => {
    const raw = Buffer.from('Subject: a\0b\r\n\r\n', 'latin1');
    assert.ok(env(raw).startsWith('(NIL {3}\r\na\x80b NIL'));
  });
});

describe('mime/address (RFC 5322 3.4)', () => {
  it('parses display names, quoted names, comments and routes', () => {
    assert.equal(addrs('"Doe, John" <john@example.com>'), '(("Doe, John" NIL "john" "example.com"))');
    assert.equal(addrs('Joe Q. Public <john.q.public@example.com>'), '(("Joe Q. Public" NIL "john.q.public" "example.com"))');
    assert.equal(addrs('(comment) Jane <jane@x.org> (c2)'), '(("Jane" NIL "jane" "x.org"))');
    assert.equal(addrs('a@b (x (nested) y)'), '(("x (nested) y" NIL "a" "b"))');
    assert.equal(addrs('"" <a@b>'), '((NIL NIL "a" "b"))');
    assert.equal(addrs('Mary <@machine.tld,@c.d:mary@example.net>'), '(("Mary" "@machine.tld,@c.d" "mary" "example.net"))');
    assert.equal(addrs('<a@[1.2.3.4]>'), '((NIL NIL "a" "[1.2.3.4]"))');
    assert.equal(addrs('"a b"@x, jdoe@test   . example'), '((NIL NIL "a b" "x") (NIL NIL "jdoe" "test.example"))');
  });

  it('marks groups with (NIL NIL name NIL) ... (NIL NIL NIL NIL)', () => {
    assert.equal(addrs('undisclosed-recipients:;'), '((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL))');
    assert.equal(addrs('Group: a@b, "C" <c@d>;, last@x'), '((NIL NIL "Group" NIL) (NIL NIL "a" "b") ("C" NIL "c" "d") (NIL NIL NIL NIL) (NIL NIL "last" "x"))');
    assert.equal(addrs('G:a@b'), '((NIL NIL "G" NIL) (NIL NIL "a" "b") (NIL NIL NIL NIL))');
  });

  it('fills a missing mailbox or domain with MISSING_MAILBOX / MISSING_DOMAIN (Dovecot)', () => {
    assert.equal(addrs('nodomain'), '((NIL NIL "nodomain" "MISSING_DOMAIN"))');
    assert.equal(addrs('a@'), '((NIL NIL "a" "MISSING_DOMAIN"))');
    assert.equal(addrs('@'), '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))');
    assert.equal(addrs('<>'), '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))');
    assert.equal(addrs('John Smith'), '(("John Smith" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))');
    assert.equal(addrs('Big Bug bb@bug.com'), '(("Big Bug bb" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))');
    assert.equal(addrs(', a@b,, c@d,'), '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN") (NIL NIL "a" "b") (NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN") (NIL NIL "c" "d"))');
  });

  it('stops at a syntax error, keeping what came before', () => {
    assert.equal(addrs('a@b@c, d@e'), '((NIL NIL "a" "b"))');
    assert.equal(addrs('Ab <a@b'), '(("Ab" NIL "a" "SYNTAX_ERROR"))');
    assert.equal(addrs('<Undisclosed-Recipient:@x.com;>'), '((NIL NIL "Undisclosed-Recipient" "SYNTAX_ERROR"))');
    assert.equal(addrs(''), '()');
  });
});
