// LIST pattern matching and reference handling (RFC 9051 6.3.9), and which names LIST/LSUB
// return with which attributes (RFC 5258, RFC 6154, RFC 3348).
import assert from 'node:assert/strict';
import { ancestors, canonicalPattern, compareNames, matchesPattern } from '../../../src/imap/list/pattern';
import { MailboxTree, type ListEntry, type ListQuery, type MailboxInfo } from '../../../src/imap/list/entries';
import { listMailbox, statusItems } from '../../../src/imap/list/arguments';
import { parseList } from '../../../src/imap/commands/list';
import { Parser } from '../../../src/imap/wire/parser';
import { ProtocolError } from '../../../src/core/errors';

describe('LIST patterns', () => {
  it('"*" matches across levels, "%" within one level', () => {
    assert.ok(matchesPattern('*', 'a/b/c'));
    assert.ok(matchesPattern('%', 'a'));
    assert.ok(!matchesPattern('%', 'a/b'));
    assert.ok(matchesPattern('a/%', 'a/b'));
    assert.ok(!matchesPattern('a/%', 'a/b/c'));
    assert.ok(matchesPattern('a/*', 'a/b/c'));
    assert.ok(!matchesPattern('a/*', 'a'));
    assert.ok(matchesPattern('%/%', 'a/b'));
    assert.ok(matchesPattern('*c', 'a/b/c'));
    assert.ok(matchesPattern('a%c', 'abbc'));
    assert.ok(!matchesPattern('a%c', 'ab/c'));
  });

  it('wildcards may match nothing', () => {
    assert.ok(matchesPattern('Sent*', 'Sent'));
    assert.ok(matchesPattern('Sent%', 'Sent'));
    assert.ok(matchesPattern('**%', ''));
    assert.ok(!matchesPattern('', 'a'));
    assert.ok(matchesPattern('', ''));
  });

  it('literal parts are case-sensitive and exact', () => {
    assert.ok(matchesPattern('Sent', 'Sent'));
    assert.ok(!matchesPattern('sent', 'Sent'));
    assert.ok(!matchesPattern('Sen', 'Sent'));
    assert.ok(!matchesPattern('Sent/', 'Sent'));
  });

  it('INBOX matches case-insensitively, also as the first level', () => {
    assert.ok(matchesPattern('inbox', 'INBOX'));
    assert.ok(matchesPattern('Inb%', 'INBOX'));
    assert.ok(matchesPattern('inbox/%', 'INBOX/Sub'));
    assert.ok(!matchesPattern('inbox/sub', 'INBOX/Sub'), 'only INBOX itself folds');
    assert.ok(!matchesPattern('inbox', 'Inbox2'));
    assert.ok(!matchesPattern('inbox2', 'Inbox2'));
  });

  it('non-ASCII names match character by character', () => {
    assert.ok(matchesPattern('Entw%', 'Entwürfe'));
    assert.ok(matchesPattern('*fe', 'Entwürfe'));
    assert.ok(matchesPattern('%/📁', 'a/📁'));
    assert.ok(!matchesPattern('Entwurfe', 'Entwürfe'));
  });

  it('stays linear on pathological patterns', () => {
    const pattern = '*a'.repeat(200) + 'b';
    const name = 'a'.repeat(500);
    const started = Date.now();
    assert.ok(!matchesPattern(pattern, name));
    assert.ok(Date.now() - started < 1000);
  });

  it('combines reference and pattern by concatenation', () => {
    assert.equal(canonicalPattern('', '%'), '%');
    assert.equal(canonicalPattern('Work/', '%'), 'Work/%');
    assert.equal(canonicalPattern('Work/', '/%'), 'Work/%');
    assert.equal(canonicalPattern('Work', '%'), 'Work%');
    assert.equal(canonicalPattern('Work', '/%'), 'Work/%');
    assert.ok(matchesPattern(canonicalPattern('inbox/', '*'), 'INBOX/x'));
  });

  it('lists ancestors outermost first', () => {
    assert.deepEqual(ancestors('a/b/c'), ['a', 'a/b']);
    assert.deepEqual(ancestors('INBOX'), []);
  });

  it('orders INBOX first and parents before children', () => {
    const names = ['b', 'a/b', 'a b', 'INBOX/x', 'a', 'INBOX'];
    assert.deepEqual([...names].sort(compareNames), ['INBOX', 'INBOX/x', 'a', 'a/b', 'a b', 'b']);
  });
});

const MAILBOXES: MailboxInfo[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Work', specialUse: null },
  { name: 'Work/Projects', specialUse: null },
  { name: 'Deep/Down/Here', specialUse: null },
  { name: 'Archive/2024', specialUse: '\\Archive' },
];

function query(patterns: string[], more: Partial<ListQuery> = {}): ListQuery {
  return { patterns, extended: false, selectSubscribed: false, selectSpecialUse: false, recursiveMatch: false, returnSubscribed: false, ...more };
}

function lines(entries: ListEntry[]): string[] {
  return entries.map((e) => `(${e.attributes.join(' ')}) ${e.name}${e.childInfo ? ` CHILDINFO ${e.childInfo.join(',')}` : ''}`);
}

describe('LIST entries', () => {
  const tree = new MailboxTree(MAILBOXES, ['INBOX', 'Work/Projects', 'Gone', 'Deep/Down/Here', 'Old/Thing']);

  it('"*" lists every mailbox with CHILDREN and SPECIAL-USE attributes, and no missing levels', () => {
    assert.deepEqual(lines(tree.list(query(['*']))), [
      '(\\HasNoChildren) INBOX',
      '(\\HasNoChildren \\Archive) Archive/2024',
      '(\\HasNoChildren) Deep/Down/Here',
      '(\\HasNoChildren \\Sent) Sent',
      '(\\HasNoChildren \\Trash) Trash',
      '(\\HasChildren) Work',
      '(\\HasNoChildren) Work/Projects',
    ]);
  });

  it('"%" shows missing hierarchy levels as \\Noselect (plain) or \\NonExistent (extended)', () => {
    assert.deepEqual(lines(tree.list(query(['%']))), [
      '(\\HasNoChildren) INBOX',
      '(\\Noselect \\HasChildren) Archive',
      '(\\Noselect \\HasChildren) Deep',
      '(\\HasNoChildren \\Sent) Sent',
      '(\\HasNoChildren \\Trash) Trash',
      '(\\HasChildren) Work',
    ]);
    assert.deepEqual(lines(tree.list(query(['Deep/%'], { extended: true }))), ['(\\NonExistent \\HasChildren) Deep/Down']);
  });

  it('several patterns give each name once', () => {
    assert.deepEqual(lines(tree.list(query(['INBOX', 'Sent', 'S*', 'Nope']))), ['(\\HasNoChildren) INBOX', '(\\HasNoChildren \\Sent) Sent']);
  });

  it('SUBSCRIBED selects subscriptions, missing ones as \\NonExistent', () => {
    assert.deepEqual(lines(tree.list(query(['*'], { extended: true, selectSubscribed: true, returnSubscribed: true }))), [
      '(\\HasNoChildren \\Subscribed) INBOX',
      '(\\HasNoChildren \\Subscribed) Deep/Down/Here',
      '(\\NonExistent \\Subscribed) Gone',
      '(\\NonExistent \\Subscribed) Old/Thing',
      '(\\HasNoChildren \\Subscribed) Work/Projects',
    ]);
    // Without RECURSIVEMATCH, parents of hidden subscriptions are not returned (RFC 5258 3.1).
    assert.deepEqual(lines(tree.list(query(['%'], { extended: true, selectSubscribed: true, returnSubscribed: true }))), [
      '(\\HasNoChildren \\Subscribed) INBOX',
      '(\\NonExistent \\Subscribed) Gone',
    ]);
  });

  it('RECURSIVEMATCH adds parents of hidden matches with CHILDINFO', () => {
    assert.deepEqual(
      lines(tree.list(query(['%'], { extended: true, selectSubscribed: true, recursiveMatch: true, returnSubscribed: true }))),
      [
        '(\\HasNoChildren \\Subscribed) INBOX',
        '(\\NonExistent \\HasChildren) Deep CHILDINFO SUBSCRIBED',
        '(\\NonExistent \\Subscribed) Gone',
        '(\\NonExistent) Old CHILDINFO SUBSCRIBED',
        '(\\HasChildren) Work CHILDINFO SUBSCRIBED',
      ],
    );
  });

  it('SPECIAL-USE selects mailboxes with a special use', () => {
    assert.deepEqual(lines(tree.list(query(['*'], { extended: true, selectSpecialUse: true }))), [
      '(\\HasNoChildren \\Archive) Archive/2024',
      '(\\HasNoChildren \\Sent) Sent',
      '(\\HasNoChildren \\Trash) Trash',
    ]);
    assert.deepEqual(lines(tree.list(query(['%'], { extended: true, selectSpecialUse: true, recursiveMatch: true }))), [
      '(\\NonExistent \\HasChildren) Archive CHILDINFO SPECIAL-USE',
      '(\\HasNoChildren \\Sent) Sent',
      '(\\HasNoChildren \\Trash) Trash',
    ]);
  });

  it('LSUB returns subscriptions and \\Noselect parents of hidden ones', () => {
    assert.deepEqual(lines(tree.lsub(['*'])), ['() INBOX', '() Deep/Down/Here', '(\\Noselect) Gone', '(\\Noselect) Old/Thing', '() Work/Projects']);
    assert.deepEqual(lines(tree.lsub(['%'])), ['() INBOX', '(\\Noselect) Deep', '(\\Noselect) Gone', '(\\Noselect) Old', '(\\Noselect) Work']);
    assert.deepEqual(lines(tree.lsub(['Work/%'])), ['() Work/Projects']);
  });
});

function parser(text: string, utf8 = false): Parser {
  return new Parser(Buffer.from(text, 'utf8'), utf8);
}

describe('LIST arguments', () => {
  it('reads list-mailbox atoms with wildcards and "]", and strings', () => {
    assert.equal(listMailbox(parser('%/*]')), '%/*]');
    assert.equal(listMailbox(parser('"a b*"')), 'a b*');
    assert.equal(listMailbox(parser('{3}\r\nx/%')), 'x/%');
  });

  it('decodes modified UTF-7 for rev1 and UTF-8 after UTF8=ACCEPT', () => {
    assert.equal(listMailbox(parser('Entw&APw-rfe/%')), 'Entwürfe/%');
    assert.equal(listMailbox(parser('"Entwürfe*"', true)), 'Entwürfe*');
    assert.equal(listMailbox(parser('Entw&APw-rfe', true)), 'Entw&APw-rfe');
    // Not valid modified UTF-7: taken literally, so it matches nothing (as Dovecot does).
    assert.equal(listMailbox(parser('bad&*')), 'bad&*');
  });

  it('parses the basic form', () => {
    const a = parseList(parser(' "" %'), false);
    assert.equal(a.extended, false);
    assert.deepEqual(a.patterns, ['%']);
    assert.equal(a.reference, '');
  });

  it('parses selection options, several patterns and return options', () => {
    const a = parseList(parser(' (SUBSCRIBED RECURSIVEMATCH) "Work/" ("%" Sent) RETURN (CHILDREN STATUS (MESSAGES SIZE))'), false);
    assert.equal(a.extended, true);
    assert.deepEqual([...a.select].sort(), ['RECURSIVEMATCH', 'SUBSCRIBED']);
    assert.equal(a.reference, 'Work/');
    assert.deepEqual(a.patterns, ['%', 'Sent']);
    assert.deepEqual(a.status, ['MESSAGES', 'SIZE']);
    assert.equal(a.returnSubscribed, true);
    assert.equal(parseList(parser(' () "" %'), false).extended, true);
    assert.equal(parseList(parser(' "" % return ()'), false).extended, true);
  });

  it('rejects malformed or unknown options', () => {
    for (const bad of [
      ' (RECURSIVEMATCH) "" %',
      ' (REMOTE RECURSIVEMATCH) "" %',
      ' (FOO) "" %',
      ' "" % RETURN (FOO)',
      ' "" % RETURN (STATUS ())',
      ' "" % RETURN (STATUS (LOWESTMODSEQ))',
      ' "" ()',
      ' "" % EXTRA',
      ' ""',
      ' "" "%',
    ]) {
      assert.throws(() => parseList(parser(bad), false), ProtocolError, bad);
    }
  });

  it('STATUS items: RECENT only for rev1; HIGHESTMODSEQ and MAILBOXID; nothing unknown', () => {
    assert.deepEqual(statusItems(parser('(messages UIDNEXT uidvalidity UNSEEN DELETED SIZE RECENT)'), false), [
      'MESSAGES',
      'UIDNEXT',
      'UIDVALIDITY',
      'UNSEEN',
      'DELETED',
      'SIZE',
      'RECENT',
    ]);
    assert.throws(() => statusItems(parser('(RECENT)'), true), ProtocolError);
    assert.deepEqual(statusItems(parser('(highestmodseq MAILBOXID)'), true), ['HIGHESTMODSEQ', 'MAILBOXID']);
    assert.throws(() => statusItems(parser('(LOWESTMODSEQ)'), false), ProtocolError);
    assert.throws(() => statusItems(parser('()'), false), ProtocolError);
  });
});
