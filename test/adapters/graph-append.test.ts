// APPEND through a Graph account (issue 4): a message the client appends without \Draft is
// created at Exchange as a real (non-draft) message by JSON create with PR_MESSAGE_FLAGS
// (flags, dates, attachments in the one request), while the client keeps its own bytes
// under its UID; an appended \Draft is created from MIME and stays a draft. Through imapflow.
import assert from 'node:assert/strict';
import { LAST_VERB } from '../../adapters/graph/mapping';
import { eventually } from '../sync/helpers';
import { accountIdle, graphHarnessForSuite, graphUser, imap, onePoll, shadow, type GraphUser } from './graph-helpers';

const SENT = [
  'From: Alice <alice@contoso.com>',
  'To: Bob <bob@example.org>, carol@example.org',
  'Cc: "Dan D." <dan@example.org>',
  'Subject: =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=',
  'Date: Tue, 5 Sep 2023 09:30:00 +0200',
  'Message-ID: <sent-copy-1@contoso.com>',
  'X-Mailer: some phone',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See the numbers.',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>See the <b>numbers</b>.</p>',
  '--inner--',
  '',
  '--outer',
  'Content-Type: text/csv; name="q3.csv"',
  'Content-Disposition: attachment; filename="q3.csv"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('quarter,amount\r\nQ3,42\r\n').toString('base64'),
  '--outer--',
  '',
].join('\r\n');

describe('Graph APPEND', function () {
  this.timeout(90000);
  const h = graphHarnessForSuite();

  const idle = (u: GraphUser): Promise<void> => accountIdle(h, u);

  it('a message appended without \\Draft is not a draft at Exchange; the client keeps its bytes, no duplicate', async () => {
    const u = await graphUser(h);
    await idle(u);
    const sentItems = u.mailbox.wellKnown('sentitems');
    const appendedAt = new Date('2023-09-05T07:31:00Z');
    const client = await imap(h, u);
    try {
      const res = await client.append('Sent', SENT, ['\\Seen', '\\Flagged', 'Project', '$Forwarded'], appendedAt);
      assert.ok(res && res.uid);
      await eventually(() => u.mailbox.inFolder(sentItems.id).length === 1, 20000, 'created at Exchange');
      const m = u.mailbox.inFolder(sentItems.id)[0];
      assert.equal(m.isDraft, false, 'not a draft');
      assert.equal(m.isRead, true);
      assert.equal(m.flag.flagStatus, 'flagged');
      assert.deepEqual(m.categories, ['Project']);
      assert.equal(m.extended.get(LAST_VERB.toLowerCase())?.value, '104');
      assert.equal(m.summary.subject, 'Quarterly résumé');
      assert.equal(m.summary.internetMessageId, '<sent-copy-1@contoso.com>');
      assert.deepEqual(m.summary.toRecipients.map((r) => r.emailAddress?.address), ['bob@example.org', 'carol@example.org']);
      assert.equal(m.summary.ccRecipients[0].emailAddress?.name, 'Dan D.');
      assert.equal(m.summary.body.contentType, 'html');
      assert.match(m.summary.body.content ?? '', /<b>numbers<\/b>/);
      assert.ok(m.summary.hasAttachments, 'the attachment went along');
      assert.match(m.mime.toString('latin1'), /filename="?q3\.csv/);
      assert.equal(m.receivedDateTime, '2023-09-05T07:31:00Z', 'delivery time from the APPEND date');
      assert.equal(m.summary.sentDateTime, '2023-09-05T07:30:00Z', 'submit time from Date:');
      const writes = h.emu.requests.filter((r) => r.method === 'PATCH' && r.path.includes(m.immutableId));
      assert.equal(writes.length, 0, 'flags went with the create: one request');
      await idle(u);

      // What the client sees: its own bytes, under its UID, once.
      const before = await shadow(h, u, 'Sent');
      assert.equal(before.length, 1);
      assert.equal(before[0].backendId, m.immutableId, 'the Exchange message is bound to the client UID');
      await onePoll(h, u);
      assert.deepEqual(await shadow(h, u, 'Sent'), before, 'the echo changes nothing');
      await client.mailboxOpen('Sent');
      const [got] = await client.fetchAll('1:*', { uid: true, source: true, size: true, flags: true });
      assert.equal(got.uid, res.uid);
      assert.equal(got.source!.toString('latin1'), SENT, 'byte for byte what was appended');
      assert.equal(got.size, Buffer.byteLength(SENT));
      assert.ok(!got.flags!.has('\\Draft'));
      assert.notEqual(m.mime.toString('latin1'), SENT, 'Exchange holds its own rendering (not served)');
    } finally {
      await client.logout();
    }
  });

  it('an appended \\Draft is created from MIME and stays a draft at Exchange', async () => {
    const u = await graphUser(h);
    await idle(u);
    const drafts = u.mailbox.wellKnown('drafts');
    const draft = ['From: alice@contoso.com', 'To: bob@example.org', 'Subject: half written', 'Message-ID: <draft-1@contoso.com>', '', 'Dear Bob,', ''].join('\r\n');
    const client = await imap(h, u);
    try {
      await client.append('Drafts', draft, ['\\Draft', '\\Seen']);
      await eventually(() => u.mailbox.inFolder(drafts.id).length === 1, 20000, 'created at Exchange');
      const m = u.mailbox.inFolder(drafts.id)[0];
      assert.equal(m.isDraft, true);
      assert.equal(m.mime.toString('latin1'), draft, 'created from the MIME as given');
      await idle(u);
      await client.mailboxOpen('Drafts');
      const [got] = await client.fetchAll('1:*', { flags: true, source: true });
      assert.ok(got.flags!.has('\\Draft'));
      assert.equal(got.source!.toString('latin1'), draft);
    } finally {
      await client.logout();
    }
  });
});
