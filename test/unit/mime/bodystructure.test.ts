import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/parse';
import { bodyStructure } from '../../../src/imap/fetch/bodystructure';
import { crlf, wire } from './helpers';

// Expected strings are what Dovecot 2.3.19 sent for the same messages.
const bs = (raw: Buffer, extended = true, messageGlobal = false): string => wire(bodyStructure(raw, parseMessage(raw), extended, { messageGlobal }));

describe('imap/fetch/bodystructure (RFC 9051 7.5.2, as Dovecot 2.3)', () => {
  it('describes a default text part with its size and lines, extension data NIL', () => {
    const raw = crlf('Subject: x\n\nline1\nline2');
    assert.equal(bs(raw), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)');
    assert.equal(bs(raw, false), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1)');
  });

  it('keeps case, RFC 2231 parameters and all single-part extension fields', () => {
    const raw = crlf(
      "Content-Type: TEXT/Plain; title*1*=%2A; title*0*=us-ascii'en'x; Format=flowed\nContent-Transfer-Encoding: BASE64\n" +
        "Content-ID: <id@x>\nContent-Description: =?utf-8?q?d=C3=A9sc?=\nContent-MD5: abc==\n" +
        "Content-Disposition: Attachment; filename=\"a\\\"b.txt\"; size=12\nContent-Language: en, fr\nContent-Location: http://x/y\n\nYm9keQ==\n",
    );
    assert.equal(
      bs(raw),
      '("TEXT" "Plain" ("Format" "flowed" "title*" "us-ascii\'en\'x%2A" "charset" "us-ascii") "<id@x>" "=?utf-8?q?d=C3=A9sc?=" "BASE64" 10 1 ' +
        '"abc==" ("Attachment" ("filename" "a\\"b.txt" "size" "12")) ("en" "fr") "http://x/y")',
    );
  });

  it('shows non-text parts without a line count, and "" "" for a broken Content-Type', () => {
    assert.equal(bs(crlf('Content-Type: image/png\n\nx')), '("image" "png" NIL NIL NIL "7bit" 1 NIL NIL NIL NIL)');
    assert.equal(bs(crlf('Content-Type: text/\n\nx')), '("" "" NIL NIL NIL "7bit" 1 NIL NIL NIL NIL)');
    assert.equal(bs(crlf('Content-Disposition: "inline"\n\nx')), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL ("" NIL) NIL NIL)');
  });

  it('puts nested multiparts together without spaces between body parts', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="abc"\n\npre\n--abc \nContent-Type: multipart/alternative; boundary=abcdef\n\n' +
        '--abcdef\n\nA\n--abcdef\nContent-Type: text/html\n\n<b>\n--abc\n\nlast\n--abc--\nepilogue\n',
    );
    assert.equal(
      bs(raw),
      '((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL) ' +
        '"alternative" ("boundary" "abcdef") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0 NIL NIL NIL NIL) "mixed" ("boundary" "abc") NIL NIL NIL)',
    );
    assert.equal(bs(raw, false), '((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 3 0) "alternative")("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0) "mixed")');
  });

  it('shows a multipart without parts with one empty text/plain part', () => {
    assert.equal(
      bs(crlf('Content-Type: multipart/mixed; boundary=xx\n\npreamble\n')),
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "xx") NIL NIL NIL)',
    );
    assert.equal(bs(crlf('Content-Type: multipart/mixed\n\n--b\n\nA\n'), false), '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")');
  });

  it('describes message/rfc822 with envelope, body and lines; digest parts default to it', () => {
    assert.equal(
      bs(crlf('Content-Type: message/rfc822\n\nSubject: inner\nFrom: a@b\n\nhello\n')),
      '("message" "rfc822" NIL NIL NIL "7bit" 36 (NIL "inner" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL) ' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)',
    );
    assert.equal(
      bs(crlf('Content-Type: multipart/digest; boundary="b"\n\n--b\n\nSubject: d1\n\nbody1\n--b\nContent-Type: text/plain\n\nt\n--b--\n')),
      '(("message" "rfc822" NIL NIL NIL "7bit" 20 (NIL "d1" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "digest" ("boundary" "b") NIL NIL NIL)',
    );
  });

  it('shows message/global as a leaf like Dovecot 2.3, or as a message on request (RFC 9051)', () => {
    const raw = crlf('Content-Type: message/global\n\nSubject: inner\nFrom: a@b\n\nhello\n');
    assert.equal(bs(raw), '("message" "global" NIL NIL NIL "7bit" 36 NIL NIL NIL NIL)');
    assert.ok(bs(raw, true, true).startsWith('("message" "global" NIL NIL NIL "7bit" 36 (NIL "inner" '));
  });

  it('sends 8-bit parameter values as literals inside a multipart, byte for byte', () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name="\xc3\xa9.txt"\r\n\r\nx\r\n--b--\r\n', 'latin1');
    assert.equal(bs(raw, false), '(("text" "plain" ("name" {6}\r\n\xc3\xa9.txt "charset" "us-ascii") NIL NIL "7bit" 1 0) "mixed")');
    const latin1 = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name="\xe9"\r\n\r\nx\r\n--b--\r\n', 'latin1');
    assert.ok(bs(latin1, false).includes('("name" {1}\r\n\xe9 "charset"'));
  });
});
