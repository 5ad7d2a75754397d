import assert from 'node:assert/strict';
import { Parser } from '../../../src/imap/wire/parser';
import { SelectedMailbox } from '../../../src/imap/selected';
import type { Mailbox, MailboxMessage } from '../../../src/core/ports';
import { parseSearchProgram } from '../../../src/imap/search/parse';
import { evaluateSearch, fold, type ContentLoader, type MessageText } from '../../../src/imap/search/evaluate';
import { headerDay, utcDay } from '../../../src/imap/search/dates';
import { dayNumber } from '../../../src/imap/search/parse';

interface Fixture {
  uid: number;
  flags: string[];
  internalDate: string;
  size: number;
  headers: Record<string, string[]>;
  body: string;
}

// Header values as the MIME module hands them over: already decoded.
const FIXTURES: Fixture[] = [
  {
    uid: 1,
    flags: ['\\Seen'],
    internalDate: '2024-01-10T23:30:00Z',
    size: 500,
    headers: {
      From: ['Alice Example <alice@example.com>'],
      To: ['bob@example.org'],
      Subject: ['Hello World'],
      // Late evening in California: already 11 January in UTC.
      Date: ['Wed, 10 Jan 2024 23:30:00 -0800'],
    },
    body: 'The quick brown fox jumps over the lazy dog.',
  },
  {
    uid: 4,
    flags: ['\\Flagged', '\\Answered', '$Work'],
    internalDate: '2024-02-01T00:00:00Z',
    size: 2000,
    headers: {
      From: ['Bob <bob@example.org>'],
      To: ['Alice <alice@example.com>'],
      Cc: ['Carol <carol@example.net>'],
      Bcc: ['dave@example.net'],
      Subject: ['Grüße aus Köln'],
      'X-Mailer': ['Memgate Test 1.0'],
    },
    body: 'Die Straße ist nass.',
  },
  {
    uid: 7,
    flags: ['\\Deleted', '\\Draft'],
    internalDate: '2024-02-15T12:00:00Z',
    size: 1000,
    headers: {
      From: ['carol@example.net'],
      Subject: ['Re: ÅNGSTRÖM report', 'second subject'],
      'List-Id': [''],
      Date: ['15 Feb 2024 09:00 +0000 (UTC)'],
    },
    body: 'Report attached. Contact alice for details.',
  },
  {
    uid: 9,
    flags: [],
    internalDate: '2023-12-31T23:59:59Z',
    size: 100,
    headers: { Date: ['1 Jan 24 00:00 +0000'] },
    body: '',
  },
];

const MAILBOX: Mailbox = {
  id: 'mbx',
  userId: 'u',
  accountId: 'a',
  name: 'INBOX',
  specialUse: null,
  uidValidity: 1,
  uidNext: 10,
  highestModseq: 1,
  backendId: null,
};

function messages(): MailboxMessage[] {
  return FIXTURES.map((f) => ({
    uid: f.uid,
    modseq: 1,
    flags: f.flags,
    internalDate: new Date(f.internalDate),
    size: f.size,
    contentId: `c${f.uid}`,
  }));
}

function textOf(f: Fixture): MessageText {
  const lookup = (name: string) => Object.entries(f.headers).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? [];
  return {
    header: lookup,
    headerSection: () =>
      Object.entries(f.headers)
        .flatMap(([n, values]) => values.map((v) => `${n}: ${v}`))
        .join('\n'),
    body: () => f.body,
  };
}

/** A loader over the fixtures that records what it was asked for. */
function fakeLoader(missing: string[] = []): ContentLoader & { calls: string[][] } {
  const calls: string[][] = [];
  const loader = async (ids: string[]) => {
    calls.push(ids);
    const out = new Map<string, MessageText>();
    for (const id of ids) {
      const f = FIXTURES.find((x) => `c${x.uid}` === id);
      if (f && !missing.includes(id)) out.set(id, textOf(f));
    }
    return out;
  };
  return Object.assign(loader, { calls });
}

function mailbox(saved: number[] = []): SelectedMailbox {
  const sel = new SelectedMailbox(MAILBOX, messages(), false);
  sel.saved = saved;
  return sel;
}

async function search(text: string, options: { saved?: number[]; loader?: ContentLoader; batchSize?: number } = {}): Promise<number[]> {
  const { key } = parseSearchProgram(new Parser(Buffer.from(text, 'utf8')));
  return evaluateSearch(mailbox(options.saved), key, options.loader ?? fakeLoader(), { batchSize: options.batchSize });
}

describe('SEARCH evaluation', () => {
  describe('flags', () => {
    const cases: Array<[string, number[]]> = [
      ['ALL', [1, 4, 7, 9]],
      ['SEEN', [1]],
      ['UNSEEN', [4, 7, 9]],
      ['ANSWERED', [4]],
      ['UNANSWERED', [1, 7, 9]],
      ['FLAGGED', [4]],
      ['UNFLAGGED', [1, 7, 9]],
      ['DELETED', [7]],
      ['UNDELETED', [1, 4, 9]],
      ['DRAFT', [7]],
      ['UNDRAFT', [1, 4, 9]],
      ['KEYWORD $Work', [4]],
      ['KEYWORD $work', [4]],
      ['UNKEYWORD $Work', [1, 7, 9]],
      ['KEYWORD Other', []],
      ['KEYWORD \\Seen', [1]],
      ['RECENT', []],
      ['NEW', []],
      ['OLD', [1, 4, 7, 9]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));
  });

  describe('sizes', () => {
    const cases: Array<[string, number[]]> = [
      ['LARGER 500', [4, 7]],
      ['LARGER 499', [1, 4, 7]],
      ['SMALLER 500', [9]],
      ['SMALLER 501', [1, 9]],
      ['LARGER 0', [1, 4, 7, 9]],
      ['SMALLER 0', []],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));
  });

  describe('internal dates (UTC calendar days)', () => {
    const cases: Array<[string, number[]]> = [
      ['ON 10-Jan-2024', [1]],
      ['ON 11-Jan-2024', []],
      ['BEFORE 10-Jan-2024', [9]],
      ['BEFORE 11-Jan-2024', [1, 9]],
      ['SINCE 1-Feb-2024', [4, 7]],
      ['SINCE 2-Feb-2024', [7]],
      ['ON 31-Dec-2023', [9]],
      ['SINCE 1-Jan-2024 BEFORE 15-Feb-2024', [1, 4]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));
  });

  describe('sent dates (Date field, its own zone)', () => {
    const cases: Array<[string, number[]]> = [
      // Message 1 was written on 10 January in -0800, though it is the 11th in UTC.
      ['SENTON 10-Jan-2024', [1]],
      ['SENTON 11-Jan-2024', []],
      // Message 4 has no Date field: its INTERNALDATE stands in.
      ['SENTON 1-Feb-2024', [4]],
      ['SENTON 15-Feb-2024', [7]],
      // Two-digit year 24 is 2024 (RFC 5322 4.3), although INTERNALDATE is in 2023.
      ['SENTON 1-Jan-2024', [9]],
      ['SENTBEFORE 1-Jan-2024', []],
      ['SENTBEFORE 2-Jan-2024', [9]],
      ['SENTSINCE 1-Feb-2024', [4, 7]],
      ['SENTSINCE 1-Jan-2024', [1, 4, 7, 9]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));
  });

  describe('header keys', () => {
    const cases: Array<[string, number[]]> = [
      ['FROM alice', [1]],
      ['FROM ALICE@EXAMPLE.COM', [1]],
      ['FROM "Alice Example"', [1]],
      ['FROM example', [1, 4, 7]],
      ['TO alice', [4]],
      ['TO example.org', [1]],
      ['CC carol', [4]],
      ['BCC dave', [4]],
      ['BCC carol', []],
      ['SUBJECT hello', [1]],
      ['SUBJECT "o w"', [1]],
      ['SUBJECT köln', [4]],
      ['SUBJECT KÖLN', [4]],
      ['SUBJECT ångström', [7]],
      // Every occurrence of a field counts.
      ['SUBJECT second', [7]],
      ['SUBJECT ""', [1, 4, 7]],
      ['HEADER X-Mailer memgate', [4]],
      ['HEADER x-mailer "TEST 1"', [4]],
      ['HEADER List-Id ""', [7]],
      ['HEADER X-Missing ""', []],
      ['HEADER Date "-0800"', [1]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));

    it('matches composed against decomposed text (NFC)', async () => {
      const decomposed = 'Gru\u0308ße';
      assert.notEqual(decomposed, 'Grüße');
      const text = Buffer.concat([Buffer.from(`SUBJECT {${Buffer.byteLength(decomposed)}}\r\n`), Buffer.from(decomposed)]);
      const { key } = parseSearchProgram(new Parser(text));
      assert.deepEqual(await evaluateSearch(mailbox(), key, fakeLoader()), [4]);
    });
  });

  describe('BODY and TEXT', () => {
    const cases: Array<[string, number[]]> = [
      ['BODY fox', [1]],
      ['BODY "LAZY DOG"', [1]],
      ['BODY straße', [4]],
      ['BODY alice', [7]],
      ['BODY hello', []],
      ['TEXT hello', [1]],
      ['TEXT alice', [1, 4, 7]],
      ['TEXT "x-mailer: memgate"', [4]],
      ['TEXT nass', [4]],
      ['BODY ""', [1, 4, 7, 9]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));

    it('contents the loader cannot provide match no text key', async () => {
      const loader = fakeLoader(['c1']);
      assert.deepEqual(await search('BODY fox', { loader }), []);
      assert.deepEqual(await search('NOT BODY fox', { loader: fakeLoader(['c1']) }), [1, 4, 7, 9]);
    });
  });

  describe('sequence numbers, UIDs and $', () => {
    const cases: Array<[string, number[]]> = [
      ['1', [1]],
      ['2:3', [4, 7]],
      ['3:2', [4, 7]],
      ['*', [9]],
      ['3:*', [7, 9]],
      ['1,4', [1, 9]],
      // Beyond the mailbox: matches nothing rather than failing.
      ['5:10', []],
      ['UID 4', [4]],
      ['UID 2:8', [4, 7]],
      ['UID *', [9]],
      // "10:*" is "9:10" here (RFC 9051 6.4.8).
      ['UID 10:*', [9]],
      ['UID 100', []],
      ['UID 1,7:9', [1, 7, 9]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));

    it('$ holds UIDs, for sequence and UID keys alike', async () => {
      assert.deepEqual(await search('$', { saved: [4, 9, 99] }), [4, 9]);
      assert.deepEqual(await search('UID $', { saved: [4, 9, 99] }), [4, 9]);
      assert.deepEqual(await search('NOT $', { saved: [4, 9] }), [1, 7]);
      assert.deepEqual(await search('$'), []);
    });
  });

  describe('combinations', () => {
    const cases: Array<[string, number[]]> = [
      ['SEEN FROM alice', [1]],
      ['UNSEEN FROM alice', []],
      ['OR SEEN FLAGGED', [1, 4]],
      ['OR FROM bob SUBJECT report', [4, 7]],
      ['NOT OR SEEN FLAGGED', [7, 9]],
      ['NOT NOT SEEN', [1]],
      ['OR (SEEN LARGER 400) (DELETED BODY report)', [1, 7]],
      ['(OR DRAFT ANSWERED) (NOT BODY report)', [4]],
      ['OR OR 1 UID 9 HEADER X-Mailer ""', [1, 4, 9]],
      ['NOT (FROM example SINCE 1-Feb-2024)', [1, 9]],
      ['OR NOT BODY fox NOT SEEN', [4, 7, 9]],
    ];
    for (const [text, expected] of cases) it(text, async () => assert.deepEqual(await search(text), expected));
  });

  describe('lazy content loading', () => {
    it('loads nothing when the cheap keys decide', async () => {
      const loader = fakeLoader();
      await search('OR SEEN (UNSEEN LARGER 10) SINCE 1-Jan-2000 UID 1:*', { loader });
      assert.deepEqual(loader.calls, []);
    });
    it('loads only messages the cheap keys leave undecided', async () => {
      const loader = fakeLoader();
      assert.deepEqual(await search('SEEN FROM alice', { loader }), [1]);
      assert.deepEqual(loader.calls, [['c1']]);
    });
    it('does not load for an OR already true', async () => {
      const loader = fakeLoader();
      assert.deepEqual(await search('OR FLAGGED BODY fox', { loader }), [1, 4]);
      assert.deepEqual(loader.calls, [['c1', 'c7', 'c9']]);
    });
    it('does not load under a NOT that is already decided', async () => {
      const loader = fakeLoader();
      assert.deepEqual(await search('NOT (UNSEEN SUBJECT x)', { loader }), [1, 4, 7, 9]);
      assert.deepEqual(loader.calls, [['c4', 'c7', 'c9']]);
    });
    it('loads in batches', async () => {
      const loader = fakeLoader();
      assert.deepEqual(await search('TEXT o', { loader, batchSize: 3 }), [1, 4, 7]);
      assert.deepEqual(loader.calls, [['c1', 'c4', 'c7'], ['c9']]);
    });
    it('shares one load between messages with the same content', async () => {
      const sel = new SelectedMailbox(
        MAILBOX,
        messages().map((m) => ({ ...m, contentId: 'c4' })),
        false,
      );
      const loader = fakeLoader();
      const { key } = parseSearchProgram(new Parser(Buffer.from('SUBJECT köln')));
      assert.deepEqual(await evaluateSearch(sel, key, loader), [1, 4, 7, 9]);
      assert.deepEqual(loader.calls, [['c4']]);
    });
  });

  describe('an empty mailbox', () => {
    it('matches nothing, "*" included', async () => {
      const sel = new SelectedMailbox(MAILBOX, [], false);
      for (const text of ['ALL', '*', 'UID *', '1:*', 'NOT SEEN']) {
        const { key } = parseSearchProgram(new Parser(Buffer.from(text)));
        assert.deepEqual(await evaluateSearch(sel, key, fakeLoader()), [], text);
      }
    });
  });
});

describe('SEARCH helpers', () => {
  it('fold is i;unicode-casemap (RFC 5051): case and composition do not matter', () => {
    assert.equal(fold('ångström'), fold('ÅNGSTRÖM'));
    assert.equal(fold('A\u030a'), fold('å'));
    assert.notEqual(fold('a'), fold('b'));
  });
  it('utcDay', () => {
    assert.equal(utcDay(new Date('2024-01-10T23:59:59Z')), dayNumber(2024, 0, 10));
    assert.equal(utcDay(new Date('2024-01-11T00:00:00Z')), dayNumber(2024, 0, 11));
    assert.equal(utcDay(new Date('1969-12-31T12:00:00Z')), -1);
  });
  it('headerDay reads the date as written', () => {
    assert.equal(headerDay('Wed, 10 Jan 2024 23:30:00 -0800'), dayNumber(2024, 0, 10));
    assert.equal(headerDay('10 Jan 2024 23:30 +1400'), dayNumber(2024, 0, 10));
    assert.equal(headerDay('Mon, 1 Jan 24 00:00 GMT'), dayNumber(2024, 0, 1));
    assert.equal(headerDay('1 Jan 99 00:00 GMT'), dayNumber(1999, 0, 1));
    assert.equal(headerDay('1 Jan 104 00:00 GMT'), dayNumber(2004, 0, 1));
    assert.equal(headerDay('Thu (comment), 7 (x) Mar 2024 10:00:00 +0000'), dayNumber(2024, 2, 7));
    assert.equal(headerDay('Thursday, 7-March-2024 10:00:00 +0000'), dayNumber(2024, 2, 7));
    assert.equal(headerDay('2024-03-07T10:00:00Z'), dayNumber(2024, 2, 7));
    assert.equal(headerDay('garbage'), null);
    assert.equal(headerDay(''), null);
  });
});
