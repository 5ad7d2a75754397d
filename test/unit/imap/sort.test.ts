import assert from 'node:assert/strict';
import { Parser } from '../../../src/imap/wire/parser';
import { ProtocolError } from '../../../src/core/errors';
import { baseSubject } from '../../../src/imap/sort/base-subject';
import { casemapKey, compareKeys } from '../../../src/imap/sort/collate';
import { parseSortCriteria } from '../../../src/imap/sort/criteria';
import { headerTime, sortFacts } from '../../../src/imap/sort/facts';
import { sortMessages } from '../../../src/imap/sort/order';
import type { MailboxMessage } from '../../../src/core/ports';

describe('SORT helpers', () => {
  describe('base subject (RFC 5256 2.1)', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['hello', 'hello'],
      ['Re: hello', 'hello'],
      ['RE:  Re: re[2]: FW: fwd: hello', 'hello'],
      ['hello (fwd)', 'hello'],
      ['hello (FWD)  (fwd) ', 'hello'],
      ['[list] Re: hello', 'hello'],
      ['[list] hello', 'hello'],
      ['[xyz]', '[xyz]'],
      ['Re: [xyz]', '[xyz]'],
      ['[Fwd: hello]', 'hello'],
      ['Re: [FWD: c]', 'c'],
      ['re: [fwd: [fwd: re: [fwd: babylon]]]', 'babylon'],
      ['[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)', 'b'],
      ['Ad: Re: Ad: x', 'Ad: Re: Ad: x'],
      ['Reply: x', 'Reply: x'],
      ['Re:\thello\t\tworld', 'hello world'],
      ['b (a)', 'b (a)'],
    ];
    for (const [input, expected] of cases) {
      it(JSON.stringify(input), () => assert.equal(baseSubject(input), expected));
    }
  });

  describe('i;unicode-casemap (RFC 5051)', () => {
    it('ignores case and compatibility forms', () => {
      assert.equal(casemapKey('abc'), casemapKey('ABC'));
      assert.equal(casemapKey('Köln'), casemapKey('KÖLN'));
      assert.equal(casemapKey('ǆ'), casemapKey('ǅ'));
      // NFKD: compatibility characters decompose (circled one is 1).
      assert.equal(casemapKey('\u2460x'), '1X');
      // Composed and decomposed forms compare equal.
      assert.equal(casemapKey('\u00e9'), casemapKey('e\u0301'));
    });

    it('compares in code point order', () => {
      assert.ok(compareKeys('A', 'B') < 0);
      assert.ok(compareKeys('B (A)', 'BABYLON') < 0);
      assert.ok(compareKeys('', 'A') < 0);
      // U+1F600 (a surrogate pair in UTF-16) sorts after U+FFFD, as in UTF-8.
      assert.ok(compareKeys('\ufffd', '\u{1f600}') < 0);
      assert.equal(compareKeys('SAME', 'SAME'), 0);
    });
  });

  describe('criteria', () => {
    const parse = (text: string) => parseSortCriteria(new Parser(Buffer.from(text)));
    it('parses keys and REVERSE', () => {
      assert.deepEqual(parse('(REVERSE date subject)'), [
        { key: 'DATE', reverse: true },
        { key: 'SUBJECT', reverse: false },
      ]);
      assert.deepEqual(parse('(displayfrom)'), [{ key: 'DISPLAYFROM', reverse: false }]);
    });
    it('refuses empty lists and unknown keys', () => {
      for (const text of ['()', '(FOO)', 'DATE', '(REVERSE)', '(REVERSE REVERSE DATE)']) {
        assert.throws(() => parse(text), ProtocolError, text);
      }
    });
  });

  describe('header facts', () => {
    it('reads dates with zones, obsolete zones and comments', () => {
      assert.equal(headerTime('Fri, 22 Feb 2008 02:00:00 +0200'), Date.UTC(2008, 1, 22, 0, 0, 0));
      assert.equal(headerTime('22 Feb 08 02:00 EST'), Date.UTC(2008, 1, 22, 7, 0, 0));
      assert.equal(headerTime('Fri, 22 Feb 2008 (comment) 02:00:00 -0130'), Date.UTC(2008, 1, 22, 3, 30, 0));
      assert.equal(headerTime('tomorrow'), null);
    });

    it('takes the first address, the group name, and decoded display names', () => {
      const f = sortFacts(
        Buffer.from(
          [
            'From: =?iso-8859-1?q?J=FCrgen?= <jm@example.org>, b@example.org',
            'To: team: x@example.org, y@example.org;',
            'Cc: "Carol" <carol@example.net>',
            'Subject: =?utf-8?q?Re:_[list]_K=C3=B6ln?=',
            '',
            'body',
          ].join('\r\n'),
        ),
      );
      assert.equal(f.from, 'JM');
      assert.equal(f.displayFrom, casemapKey('Jürgen'));
      assert.equal(f.to, 'TEAM');
      assert.equal(f.displayTo, 'TEAM');
      assert.equal(f.cc, 'CAROL');
      assert.equal(f.subject, casemapKey('Köln'));
      assert.equal(f.date, null);
    });
  });

  describe('order', () => {
    const msg = (uid: number, size: number, day: number): MailboxMessage => ({
      uid,
      modseq: 1,
      flags: [],
      internalDate: new Date(Date.UTC(2024, 0, day)),
      size,
      contentId: `c${uid}`,
    });
    const messages = [msg(1, 30, 3), msg(2, 10, 1), msg(3, 30, 2), msg(4, 20, 1)];

    it('sorts by each criterion in turn, ties in sequence order', () => {
      assert.deepEqual(sortMessages(messages, [{ key: 'SIZE', reverse: false }], new Map()), [2, 4, 1, 3]);
      assert.deepEqual(
        sortMessages(messages, [{ key: 'SIZE', reverse: true }, { key: 'ARRIVAL', reverse: false }], new Map()),
        [3, 1, 4, 2],
      );
      // REVERSE flips its key only: equal keys stay in ascending sequence order.
      assert.deepEqual(sortMessages(messages, [{ key: 'ARRIVAL', reverse: true }], new Map()), [1, 3, 2, 4]);
      // Without a Date field, DATE falls back to INTERNALDATE.
      assert.deepEqual(sortMessages(messages, [{ key: 'DATE', reverse: false }], new Map()), [2, 4, 3, 1]);
    });
  });
});
