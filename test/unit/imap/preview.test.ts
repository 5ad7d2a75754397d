import assert from 'node:assert/strict';
import { Parser } from '../../../src/imap/wire/parser';
import { parseFetchItems } from '../../../src/imap/fetch/items';
import { previewText } from '../../../src/imap/fetch/preview';
import { parseMessage } from '../../../src/mime/parse';

function preview(lines: string[]): string {
  const raw = Buffer.from(lines.join('\r\n'));
  return previewText(raw, parseMessage(raw));
}

describe('PREVIEW (RFC 8970)', () => {
  it('parses PREVIEW with and without LAZY, leaving FETCH modifiers alone', () => {
    const p1 = new Parser(Buffer.from('PREVIEW (LAZY)'));
    assert.deepEqual(parseFetchItems(p1), [{ kind: 'preview', lazy: true }]);
    assert.ok(p1.atEnd());
    const p2 = new Parser(Buffer.from('(UID PREVIEW (lazy) FLAGS)'));
    assert.deepEqual(parseFetchItems(p2), [{ kind: 'uid' }, { kind: 'preview', lazy: true }, { kind: 'flags' }]);
    const p3 = new Parser(Buffer.from('PREVIEW (CHANGEDSINCE 5)'));
    assert.deepEqual(parseFetchItems(p3), [{ kind: 'preview', lazy: false }]);
    assert.equal(p3.bytes.toString('latin1', p3.pos), ' (CHANGEDSINCE 5)');
    assert.throws(() => parseFetchItems(new Parser(Buffer.from('(PREVIEW (LAZY FOO))'))));
  });

  it('takes the first text, decoded, without quotes, markup or runs of whitespace', () => {
    assert.equal(preview(['Subject: x', '', 'one\r\n\r\n  two\tthree', '> quoted', 'four', '']), 'one two three four');
    assert.equal(
      preview(['Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: base64', '', Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('base64'), '']),
      'café',
    );
    assert.equal(
      preview([
        'Content-Type: multipart/alternative; boundary=q',
        '',
        '--q',
        'Content-Type: text/html',
        '',
        '<b>bold</b> &lt;html&gt;',
        '--q',
        'Content-Type: text/plain',
        '',
        'plain wins',
        '--q--',
        '',
      ]),
      'plain wins',
    );
    assert.equal(preview(['Content-Type: text/html', '', '<script>x()</script><p>only&nbsp;html</p>', '']), 'only html');
    assert.equal(preview(['Content-Type: application/pdf', '', 'JVBERi0=', '']), '');
    assert.equal(Array.from(preview(['', 'é'.repeat(300), ''])).length, 200);
  });
});
