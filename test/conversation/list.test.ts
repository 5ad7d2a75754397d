// LIST, LSUB and STATUS over TCP: LIST-EXTENDED options, LIST-STATUS, SPECIAL-USE, CHILDREN,
// modified UTF-7 and UTF-8 names, and renamed hierarchies seen through LIST.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const MESSAGE = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\r\nbody text\r\n';

/** Untagged lines of one response, CRLF removed, bytes read back as UTF-8. */
function untagged(response: string, kind: string): string[] {
  return Buffer.from(response, 'latin1')
    .toString('utf8')
    .split('\r\n')
    .filter((l) => l.startsWith(`* ${kind} `));
}

describe('LIST, LSUB and STATUS', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  async function login(): Promise<{ c: RawClient; user: string; password: string }> {
    const { user, password } = await server.addUser();
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('l', `LOGIN ${user} ${password}`), /^l OK/m);
    return { c, user, password };
  }

  async function ok(c: RawClient, command: string): Promise<string> {
    const r = await c.command('t', command);
    assert.match(r, /^t OK/m, `${command}\n${r}`);
    return r;
  }

  it('answers the delimiter for an empty pattern', async () => {
    const { c } = await login();
    assert.deepEqual(untagged(await ok(c, 'LIST "" ""'), 'LIST'), ['* LIST (\\Noselect) "/" ""']);
    assert.deepEqual(untagged(await ok(c, 'LIST "Work/Sub" ""'), 'LIST'), ['* LIST (\\Noselect) "/" ""']);
    c.close();
  });

  it('lists the default mailboxes with SPECIAL-USE and CHILDREN attributes, INBOX first', async () => {
    const { c } = await login();
    const lines = untagged(await ok(c, 'LIST "" *'), 'LIST');
    assert.deepEqual(lines, [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    ]);
    assert.deepEqual(untagged(await ok(c, 'LIST "" inbox'), 'LIST'), ['* LIST (\\HasNoChildren) "/" INBOX']);
    assert.deepEqual(untagged(await ok(c, 'LIST "" ("INBOX" "Sent" "Nope")'), 'LIST'), [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    ]);
    assert.deepEqual(untagged(await ok(c, 'LIST (SPECIAL-USE) "" *'), 'LIST').length, 5);
    c.close();
  });

  it('shows children, references and missing hierarchy levels', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Work/Projects/2025');
    await ok(c, 'CREATE Work/Notes');
    assert.ok(untagged(await ok(c, 'LIST "" %'), 'LIST').includes('* LIST (\\HasChildren) "/" Work'));
    assert.deepEqual(untagged(await ok(c, 'LIST "Work/" %'), 'LIST'), [
      '* LIST (\\HasNoChildren) "/" Work/Notes',
      '* LIST (\\HasChildren) "/" Work/Projects',
    ]);
    await ok(c, 'DELETE Work/Projects');
    // The level still has children: "%" shows it as a non-selectable name.
    assert.deepEqual(untagged(await ok(c, 'LIST "" Work/%'), 'LIST'), [
      '* LIST (\\HasNoChildren) "/" Work/Notes',
      '* LIST (\\Noselect \\HasChildren) "/" Work/Projects',
    ]);
    assert.deepEqual(untagged(await ok(c, 'LIST () "" Work/%'), 'LIST'), [
      '* LIST (\\HasNoChildren) "/" Work/Notes',
      '* LIST (\\NonExistent \\HasChildren) "/" Work/Projects',
    ]);
    assert.ok(!untagged(await ok(c, 'LIST "" *'), 'LIST').some((l) => l.endsWith(' Work/Projects')));
    assert.match(await c.command('s', 'SELECT Work/Projects'), /^s NO \[NONEXISTENT\]/m);
    c.close();
  });

  it('LIST-EXTENDED: SUBSCRIBED, RECURSIVEMATCH with CHILDINFO, and BAD options', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Lists/Ietf');
    await ok(c, 'SUBSCRIBE Lists/Ietf');
    await ok(c, 'UNSUBSCRIBE Junk');
    const subscribed = untagged(await ok(c, 'LIST (SUBSCRIBED) "" *'), 'LIST');
    assert.ok(subscribed.includes('* LIST (\\HasNoChildren \\Subscribed) "/" Lists/Ietf'), subscribed.join('\n'));
    assert.ok(subscribed.includes('* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" Sent'));
    assert.ok(!subscribed.some((l) => l.endsWith(' Junk')));
    assert.deepEqual(untagged(await ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" Lists'), 'LIST'), [
      '* LIST (\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
    const withReturn = untagged(await ok(c, 'LIST "" % RETURN (SUBSCRIBED CHILDREN)'), 'LIST');
    assert.ok(withReturn.includes('* LIST (\\HasChildren) "/" Lists'));
    assert.ok(withReturn.includes('* LIST (\\HasNoChildren \\Junk) "/" Junk'));
    assert.ok(withReturn.includes('* LIST (\\HasNoChildren \\Subscribed \\Trash) "/" Trash'));
    for (const bad of ['LIST (RECURSIVEMATCH) "" %', 'LIST (BOGUS) "" %', 'LIST "" % RETURN (BOGUS)', 'LIST "" ()', 'LIST "" % %']) {
      assert.match(await c.command('b', bad), /^b BAD/m, bad);
    }
    c.close();
  });

  it('keeps a subscription to a deleted mailbox as \\NonExistent', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Ephemeral');
    await ok(c, 'SUBSCRIBE Ephemeral');
    await ok(c, 'DELETE Ephemeral');
    // Subscriptions are names: they outlive the mailbox (RFC 9051 6.3.7).
    assert.deepEqual(untagged(await ok(c, 'LIST (SUBSCRIBED) "" Ephemeral'), 'LIST'), ['* LIST (\\NonExistent \\Subscribed) "/" Ephemeral']);
    assert.deepEqual(untagged(await ok(c, 'LSUB "" Ephemeral'), 'LSUB'), ['* LSUB (\\Noselect) "/" Ephemeral']);
    assert.deepEqual(untagged(await ok(c, 'LIST "" Ephemeral'), 'LIST'), []);
    c.close();
  });

  it('LIST-STATUS sends STATUS after each selectable mailbox', async () => {
    const { c } = await login();
    await ok(c, `APPEND INBOX (\\Seen) {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await ok(c, `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await ok(c, 'CREATE Gap/Child');
    await ok(c, 'DELETE Gap');
    const r = await ok(c, 'LIST "" ("INBOX" "Gap" "Gap/%") RETURN (STATUS (MESSAGES UNSEEN SIZE))');
    const lines = Buffer.from(r, 'latin1').toString('utf8').split('\r\n').filter((l) => l.startsWith('* '));
    assert.deepEqual(lines, [
      '* LIST (\\HasNoChildren) "/" INBOX',
      `* STATUS INBOX (MESSAGES 2 UNSEEN 1 SIZE ${2 * MESSAGE.length})`,
      '* LIST (\\HasNoChildren) "/" Gap/Child',
      '* STATUS Gap/Child (MESSAGES 0 UNSEEN 0 SIZE 0)',
    ]);
    const plain = await ok(c, 'LIST "" % RETURN (STATUS (UIDNEXT))');
    assert.ok(!/\* STATUS Gap /.test(plain), 'no STATUS for a non-existent level');
    assert.match(plain, /^\* LIST \(\\NonExistent \\HasChildren\) "\/" Gap\r$/m);
    c.close();
  });

  it('STATUS answers every item, also for the selected mailbox; unknown items are BAD', async () => {
    const { c } = await login();
    await ok(c, `APPEND INBOX (\\Deleted) {${MESSAGE.length}+}\r\n${MESSAGE}`);
    const r = await ok(c, 'STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)');
    assert.match(r, new RegExp(`^\\* STATUS INBOX \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1 DELETED 1 SIZE ${MESSAGE.length} RECENT 1\\)\\r$`, 'm'));
    await ok(c, 'SELECT INBOX');
    // SELECT claimed the \\Recent message for this session (RFC 3501 2.3.2).
    assert.match(await ok(c, 'STATUS INBOX (MESSAGES RECENT)'), /^\* STATUS INBOX \(MESSAGES 1 RECENT 0\)/m);
    assert.match(await c.command('n', 'STATUS Nowhere (MESSAGES)'), /^n NO \[NONEXISTENT\]/m);
    assert.match(await c.command('b1', 'STATUS INBOX (LOWESTMODSEQ)'), /^b1 BAD/m);
    assert.match(await c.command('b2', 'STATUS INBOX ()'), /^b2 BAD/m);
    assert.match(await c.command('b3', 'STATUS INBOX'), /^b3 BAD/m);
    c.close();
  });

  it('LSUB lists subscriptions and \\Noselect parents of hidden ones', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Feeds/News');
    await ok(c, 'SUBSCRIBE Feeds/News');
    const all = untagged(await ok(c, 'LSUB "" *'), 'LSUB');
    assert.ok(all.includes('* LSUB () "/" Feeds/News'), all.join('\n'));
    assert.ok(all.includes('* LSUB () "/" INBOX'));
    const top = untagged(await ok(c, 'LSUB "" %'), 'LSUB');
    assert.ok(top.includes('* LSUB (\\Noselect) "/" Feeds'), top.join('\n'));
    assert.deepEqual(untagged(await ok(c, 'LSUB "Feeds/" %'), 'LSUB'), ['* LSUB () "/" Feeds/News']);
    c.close();
  });

  it('modified UTF-7 names for rev1, UTF-8 after ENABLE UTF8=ACCEPT', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Entw&APw-rfe/Alt');
    assert.deepEqual(untagged(await ok(c, 'LIST "" Entw&APw-*'), 'LIST'), [
      '* LIST (\\HasChildren) "/" Entw&APw-rfe',
      '* LIST (\\HasNoChildren) "/" Entw&APw-rfe/Alt',
    ]);
    assert.match(await ok(c, 'STATUS Entw&APw-rfe (MESSAGES)'), /^\* STATUS Entw&APw-rfe \(MESSAGES 0\)/m);
    // Invalid modified UTF-7 in a pattern matches nothing (Dovecot and imaptest agree).
    const invalid = await c.command('b', 'LIST "" "Entw&APw"');
    assert.match(invalid, /^b OK/m);
    assert.doesNotMatch(invalid, /^\* LIST/m);
    await ok(c, 'ENABLE UTF8=ACCEPT');
    const utf8 = await c.command('u', Buffer.from('LIST "" "Entwü*"', 'utf8'));
    assert.deepEqual(untagged(utf8, 'LIST'), ['* LIST (\\HasChildren) "/" "Entwürfe"', '* LIST (\\HasNoChildren) "/" "Entwürfe/Alt"']);
    c.close();
  });

  it('RENAME moves a whole hierarchy; RENAME INBOX leaves an empty INBOX', async () => {
    const { c } = await login();
    await ok(c, 'CREATE Old/Sub/Leaf');
    await ok(c, 'RENAME Old New');
    assert.deepEqual(untagged(await ok(c, 'LIST "" New*'), 'LIST'), [
      '* LIST (\\HasChildren) "/" New',
      '* LIST (\\HasChildren) "/" New/Sub',
      '* LIST (\\HasNoChildren) "/" New/Sub/Leaf',
    ]);
    assert.deepEqual(untagged(await ok(c, 'LIST "" Old*'), 'LIST'), []);
    await ok(c, `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await ok(c, 'RENAME INBOX Saved');
    assert.deepEqual(untagged(await ok(c, 'LIST "" ("INBOX" "Saved")'), 'LIST'), [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren) "/" Saved',
    ]);
    assert.match(await ok(c, 'STATUS INBOX (MESSAGES)'), /MESSAGES 0/);
    assert.match(await ok(c, 'STATUS Saved (MESSAGES)'), /MESSAGES 1/);
    c.close();
  });

  it('imapflow sees special uses, UTF-8 names, subscriptions and LIST-STATUS counts', async () => {
    const { user, password } = await server.addUser();
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user, pass: password },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxCreate('Entwürfe');
      await client.mailboxCreate(['Projekte', 'Bäume']);
      await client.mailboxUnsubscribe('Projekte/Bäume');
      await client.append('INBOX', MESSAGE);
      const list = await client.list({ statusQuery: { messages: true, unseen: true } });
      const byPath = new Map(list.map((m) => [m.path, m]));
      assert.equal(byPath.get('Sent')?.specialUse, '\\Sent');
      assert.equal(byPath.get('Trash')?.specialUse, '\\Trash');
      assert.ok(byPath.has('Entwürfe'), [...byPath.keys()].join(', '));
      assert.ok(byPath.has('Projekte/Bäume'));
      assert.equal(byPath.get('INBOX')?.subscribed, true);
      // imapflow subscribes what it creates.
      assert.equal(byPath.get('Entwürfe')?.subscribed, true);
      assert.ok(!byPath.get('Projekte/Bäume')?.subscribed);
      assert.equal(byPath.get('INBOX')?.status?.messages, 1);
      assert.equal(byPath.get('INBOX')?.status?.unseen, 1);
      const status = await client.status('Projekte/Bäume', { messages: true, uidNext: true });
      assert.ok(status);
      assert.equal(status.messages, 0);
      assert.equal(status.uidNext, 1);
    } finally {
      await client.logout();
    }
  });
});
