import assert from 'node:assert/strict';
import { Parser } from '../../../src/imap/wire/parser';
import { ProtocolError } from '../../../src/core/errors';
import { dayNumber, parseReturnOptions, parseSearchProgram, type SearchKey, type SearchProgram } from '../../../src/imap/search/parse';

function program(text: string): SearchProgram {
  return parseSearchProgram(new Parser(Buffer.from(text, 'utf8')));
}

function key(text: string): SearchKey {
  return program(text).key;
}

function bad(text: string, pattern?: RegExp): void {
  assert.throws(
    () => program(text),
    (err: unknown) => err instanceof ProtocolError && err.imapStatus === 'BAD' && (!pattern || pattern.test(err.message)),
    `expected BAD for ${JSON.stringify(text)}`,
  );
}

describe('SEARCH key parser', () => {
  describe('keys without arguments', () => {
    const flags: Array<[string, string, boolean]> = [
      ['ANSWERED', '\\Answered', true],
      ['DELETED', '\\Deleted', true],
      ['DRAFT', '\\Draft', true],
      ['FLAGGED', '\\Flagged', true],
      ['SEEN', '\\Seen', true],
      ['UNANSWERED', '\\Answered', false],
      ['UNDELETED', '\\Deleted', false],
      ['UNDRAFT', '\\Draft', false],
      ['UNFLAGGED', '\\Flagged', false],
      ['UNSEEN', '\\Seen', false],
    ];
    for (const [word, flag, present] of flags) {
      it(word, () => assert.deepEqual(key(word), { kind: 'flag', flag, present }));
    }

    it('ALL', () => assert.deepEqual(key('ALL'), { kind: 'all' }));
    it('RECENT', () => assert.deepEqual(key('RECENT'), { kind: 'recent' }));
    it('NEW is RECENT UNSEEN', () =>
      assert.deepEqual(key('NEW'), {
        kind: 'and',
        keys: [{ kind: 'recent' }, { kind: 'flag', flag: '\\Seen', present: false }],
      }));
    it('OLD is NOT RECENT', () => assert.deepEqual(key('OLD'), { kind: 'not', key: { kind: 'recent' } }));
    it('is case-insensitive', () => {
      assert.deepEqual(key('seen'), key('SEEN'));
      assert.deepEqual(key('UnDeLeTeD'), key('UNDELETED'));
    });
  });

  describe('string keys', () => {
    const headers: Array<[string, string]> = [
      ['BCC', 'Bcc'],
      ['CC', 'Cc'],
      ['FROM', 'From'],
      ['TO', 'To'],
      ['SUBJECT', 'Subject'],
    ];
    for (const [word, name] of headers) {
      it(word, () => assert.deepEqual(key(`${word} alice`), { kind: 'header', name, value: 'alice' }));
    }
    it('HEADER name value', () =>
      assert.deepEqual(key('HEADER X-Mailer "Foo Bar"'), { kind: 'header', name: 'X-Mailer', value: 'Foo Bar' }));
    it('HEADER with an empty value (presence)', () =>
      assert.deepEqual(key('HEADER List-Id ""'), { kind: 'header', name: 'List-Id', value: '' }));
    it('BODY', () => assert.deepEqual(key('BODY "hello world"'), { kind: 'body', value: 'hello world' }));
    it('TEXT', () => assert.deepEqual(key('TEXT hello'), { kind: 'text', value: 'hello' }));
    it('a literal string', () => assert.deepEqual(key('SUBJECT {5}\r\nhe)lo'), { kind: 'header', name: 'Subject', value: 'he)lo' }));
    it('a non-synchronizing literal', () => assert.deepEqual(key('BODY {3+}\r\nabc'), { kind: 'body', value: 'abc' }));
    it('UTF-8 in a literal', () => {
      const text = Buffer.concat([Buffer.from(`SUBJECT {${Buffer.byteLength('Grüße')}}\r\n`), Buffer.from('Grüße')]);
      assert.deepEqual(parseSearchProgram(new Parser(text)).key, { kind: 'header', name: 'Subject', value: 'Grüße' });
    });
    it('an unquoted string with 8-bit bytes is read as UTF-8', () => {
      assert.deepEqual(key('SUBJECT köln SEEN'), {
        kind: 'and',
        keys: [
          { kind: 'header', name: 'Subject', value: 'köln' },
          { kind: 'flag', flag: '\\Seen', present: true },
        ],
      });
      assert.deepEqual(key('(BODY straße)'), { kind: 'body', value: 'straße' });
    });
    it('quoted strings with escapes', () => assert.deepEqual(key('SUBJECT "a \\"b\\" \\\\c"'), { kind: 'header', name: 'Subject', value: 'a "b" \\c' }));
  });

  describe('dates', () => {
    const dates: Array<[string, 'internal' | 'sent', 'before' | 'on' | 'since']> = [
      ['BEFORE', 'internal', 'before'],
      ['ON', 'internal', 'on'],
      ['SINCE', 'internal', 'since'],
      ['SENTBEFORE', 'sent', 'before'],
      ['SENTON', 'sent', 'on'],
      ['SENTSINCE', 'sent', 'since'],
    ];
    for (const [word, field, op] of dates) {
      it(word, () => assert.deepEqual(key(`${word} 1-Feb-1994`), { kind: 'date', field, op, day: dayNumber(1994, 1, 1) }));
    }
    it('quoted dates and two-digit days', () => {
      assert.deepEqual(key('SINCE "01-Feb-1994"'), key('SINCE 1-Feb-1994'));
      assert.deepEqual(key('ON 29-feb-2024'), { kind: 'date', field: 'internal', op: 'on', day: dayNumber(2024, 1, 29) });
    });
    it('refuses malformed and impossible dates', () => {
      bad('SINCE 1994-02-01', /date/i);
      bad('SINCE 1-Foo-1994', /date/i);
      bad('SINCE 32-Jan-1994', /date/i);
      bad('SINCE 29-Feb-2023', /date/i);
      bad('SINCE 0-Jan-2023', /date/i);
      bad('SINCE 1-Jan-94', /date/i);
      bad('SINCE "1-Jan-1994', /Expected/);
      bad('BEFORE');
    });
  });

  describe('numbers and sets', () => {
    it('LARGER and SMALLER', () => {
      assert.deepEqual(key('LARGER 1024'), { kind: 'size', op: 'larger', size: 1024 });
      assert.deepEqual(key('SMALLER 0'), { kind: 'size', op: 'smaller', size: 0 });
      bad('LARGER x');
      bad('SMALLER -1');
    });
    it('a sequence set', () =>
      assert.deepEqual(key('1:3,5,7:*'), {
        kind: 'seq',
        set: {
          kind: 'ranges',
          ranges: [
            { from: 1, to: 3 },
            { from: 5, to: 5 },
            { from: 7, to: 0 },
          ],
        },
      }));
    it('"*" alone', () => assert.deepEqual(key('*'), { kind: 'seq', set: { kind: 'ranges', ranges: [{ from: 0, to: 0 }] } }));
    it('"$" as a key and as a UID set', () => {
      assert.deepEqual(key('$'), { kind: 'seq', set: { kind: 'saved' } });
      assert.deepEqual(key('UID $'), { kind: 'uid', set: { kind: 'saved' } });
    });
    it('UID set', () =>
      assert.deepEqual(key('UID 100:200'), { kind: 'uid', set: { kind: 'ranges', ranges: [{ from: 100, to: 200 }] } }));
    it('refuses broken sets', () => {
      bad('1:');
      bad('0');
      bad('1:4x');
      bad('1,,2');
      bad('UID');
      bad('UID abc');
    });
  });

  describe('keywords', () => {
    it('KEYWORD and UNKEYWORD', () => {
      assert.deepEqual(key('KEYWORD $Forwarded'), { kind: 'flag', flag: '$Forwarded', present: true });
      assert.deepEqual(key('UNKEYWORD Junk'), { kind: 'flag', flag: 'Junk', present: false });
    });
    it('accepts a system flag spelled as a keyword', () =>
      assert.deepEqual(key('KEYWORD \\Seen'), { kind: 'flag', flag: '\\Seen', present: true }));
    it('needs an atom', () => {
      bad('KEYWORD');
      bad('KEYWORD "x"');
    });
  });

  describe('combinations', () => {
    it('several keys are ANDed', () =>
      assert.deepEqual(key('SEEN FLAGGED 1:2'), {
        kind: 'and',
        keys: [
          { kind: 'flag', flag: '\\Seen', present: true },
          { kind: 'flag', flag: '\\Flagged', present: true },
          { kind: 'seq', set: { kind: 'ranges', ranges: [{ from: 1, to: 2 }] } },
        ],
      }));
    it('NOT', () => assert.deepEqual(key('NOT SEEN'), { kind: 'not', key: { kind: 'flag', flag: '\\Seen', present: true } }));
    it('OR', () =>
      assert.deepEqual(key('OR SEEN FROM bob'), {
        kind: 'or',
        left: { kind: 'flag', flag: '\\Seen', present: true },
        right: { kind: 'header', name: 'From', value: 'bob' },
      }));
    it('parenthesised lists', () => {
      assert.deepEqual(key('(SEEN)'), { kind: 'flag', flag: '\\Seen', present: true });
      assert.deepEqual(key('(SEEN DELETED)'), {
        kind: 'and',
        keys: [
          { kind: 'flag', flag: '\\Seen', present: true },
          { kind: 'flag', flag: '\\Deleted', present: true },
        ],
      });
    });
    it('nested OR and NOT with lists', () =>
      assert.deepEqual(key('OR (FROM a SUBJECT b) NOT OR 1 UID 5'), {
        kind: 'or',
        left: {
          kind: 'and',
          keys: [
            { kind: 'header', name: 'From', value: 'a' },
            { kind: 'header', name: 'Subject', value: 'b' },
          ],
        },
        right: {
          kind: 'not',
          key: {
            kind: 'or',
            left: { kind: 'seq', set: { kind: 'ranges', ranges: [{ from: 1, to: 1 }] } },
            right: { kind: 'uid', set: { kind: 'ranges', ranges: [{ from: 5, to: 5 }] } },
          },
        },
      }));
    it('deeply nested ORs within the limit', () => {
      const text = 'OR SEEN '.repeat(50) + 'ALL';
      assert.equal(key(text).kind, 'or');
    });
    it('refuses nesting beyond the limit', () => bad('NOT '.repeat(200) + 'ALL', /nested/));
    it('refuses unbalanced and empty parentheses', () => {
      bad('(SEEN');
      bad('SEEN)');
      bad('()');
      bad('((SEEN)');
      bad('OR SEEN');
      bad('NOT');
    });
  });

  describe('CHARSET', () => {
    it('is recorded in upper case', () => {
      assert.deepEqual(program('CHARSET utf-8 SUBJECT x'), { charset: 'UTF-8', key: { kind: 'header', name: 'Subject', value: 'x' } });
      assert.equal(program('CHARSET "US-ASCII" ALL').charset, 'US-ASCII');
      assert.equal(program('ALL').charset, null);
    });
    it('any charset name parses (the command refuses unsupported ones)', () =>
      assert.equal(program('CHARSET KOI8-R ALL').charset, 'KOI8-R'));
    it('needs keys after it', () => {
      bad('CHARSET UTF-8');
      bad('CHARSET');
    });
  });

  describe('bad input', () => {
    it('unknown keys', () => {
      bad('FOO', /Unknown search key FOO/);
      bad('SEEN BAR');
      bad('MODSEQ x');
      bad('MODSEQ "/flags/\\seen" nobody 5');
    });
    it('missing arguments', () => {
      for (const word of ['FROM', 'TO', 'CC', 'BCC', 'SUBJECT', 'BODY', 'TEXT', 'LARGER', 'SMALLER', 'UNKEYWORD']) bad(word);
      bad('HEADER Subject');
      bad('HEADER');
    });
    it('invalid header names', () => {
      bad('HEADER "" x');
      bad('HEADER "a b" x');
      bad('HEADER "a:" x');
    });
    it('empty program and stray spaces', () => {
      bad('');
      bad('SEEN ');
      bad(' SEEN');
      bad('SEEN  DELETED');
    });
    it('a string key without a string', () => bad('SUBJECT (x)'));
  });
});

describe('SEARCH result options', () => {
  function returns(text: string): Set<string> | null {
    const p = new Parser(Buffer.from(text));
    return parseReturnOptions(p);
  }

  it('absent', () => assert.equal(returns('ALL'), null));
  it('each option', () => {
    assert.deepEqual(returns('RETURN (MIN MAX COUNT ALL SAVE)'), new Set(['MIN', 'MAX', 'COUNT', 'ALL', 'SAVE']));
    assert.deepEqual(returns('return (min)'), new Set(['MIN']));
  });
  it('an empty list means ALL', () => assert.deepEqual(returns('RETURN ()'), new Set(['ALL'])));
  it('refuses unknown options and broken lists', () => {
    for (const text of ['RETURN (PARTIAL 1:5)', 'RETURN (FOO)', 'RETURN MIN', 'RETURN (MIN', 'RETURN']) {
      assert.throws(() => returns(text), ProtocolError, text);
    }
  });
});
