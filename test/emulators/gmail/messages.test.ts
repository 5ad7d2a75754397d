// users.getProfile, users.messages.* and users.threads.* through the googleapis client;
// every answer is checked against the discovery document.

import assert from 'node:assert/strict';
import { b64url, failure, rfc822, useHarness, USER, valid } from './helpers';

const MULTIPART = [
  'From: Carol <carol@example.net>',
  `To: ${USER}`,
  'Subject: =?UTF-8?Q?Caf=C3=A9?= report',
  'Date: Tue, 5 Dec 2023 09:00:00 +0000',
  'Message-ID: <report@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'The numbers are in=20the attachment.',
  '--b1',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Disposition: attachment; filename="data.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from([0, 1, 2, 3, 250]).toString('base64'),
  '--b1--',
  '',
].join('\r\n');

describe('gmail emulator: messages and threads', () => {
  const h = useHarness();

  const insert = async (raw: string, labelIds: string[] = ['INBOX', 'UNREAD'], threadId?: string) =>
    valid('gmail.users.messages.insert', (await h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(raw), labelIds, threadId } })).data);

  it('getProfile counts messages and threads and carries the historyId', async () => {
    const before = valid('gmail.users.getProfile', (await h.gmail.users.getProfile({ userId: 'me' })).data);
    assert.equal(before.emailAddress, USER);
    assert.equal(before.messagesTotal, 0);
    await insert(rfc822());
    const after = valid('gmail.users.getProfile', (await h.gmail.users.getProfile({ userId: USER })).data);
    assert.equal(after.messagesTotal, 1);
    assert.equal(after.threadsTotal, 1);
    assert.ok(BigInt(after.historyId!) > BigInt(before.historyId!));
  });

  it('insert, then get in every format', async () => {
    const m = await insert(MULTIPART);
    assert.deepEqual(m.labelIds, ['INBOX', 'UNREAD']);
    const raw = valid('gmail.users.messages.get', (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'raw' })).data);
    assert.equal(Buffer.from(raw.raw!, 'base64url').toString(), MULTIPART);
    assert.equal(raw.sizeEstimate, Buffer.byteLength(MULTIPART));
    assert.equal(raw.payload, undefined);

    const minimal = valid('gmail.users.messages.get', (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'minimal' })).data);
    assert.equal(minimal.snippet, 'The numbers are in the attachment.');
    assert.equal(minimal.threadId, m.threadId);
    assert.match(minimal.internalDate!, /^\d+$/);

    const meta = valid(
      'gmail.users.messages.get',
      (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'metadata', metadataHeaders: ['Subject', 'message-id'] })).data,
    );
    assert.deepEqual(meta.payload!.headers, [
      { name: 'Subject', value: 'Café report' },
      { name: 'Message-ID', value: '<report@example.net>' },
    ]);

    const full = valid('gmail.users.messages.get', (await h.gmail.users.messages.get({ userId: 'me', id: m.id! })).data);
    assert.equal(full.payload!.mimeType, 'multipart/mixed');
    const [text, att] = full.payload!.parts!;
    assert.equal(text!.partId, '0');
    assert.equal(Buffer.from(text!.body!.data!, 'base64url').toString(), 'The numbers are in the attachment.');
    assert.equal(att!.filename, 'data.bin');
    assert.equal(att!.body!.size, 5);
    const blob = valid('gmail.users.messages.attachments.get', (await h.gmail.users.messages.attachments.get({ userId: 'me', messageId: m.id!, id: att!.body!.attachmentId! })).data);
    assert.deepEqual([...Buffer.from(blob.data!, 'base64url')], [0, 1, 2, 3, 250]);
  });

  it('import takes internalDate from the Date header, insert from the clock by default', async () => {
    const date = 'Fri, 1 Sep 2023 12:00:00 +0000';
    const imported = valid('gmail.users.messages.import', (await h.gmail.users.messages.import({ userId: 'me', requestBody: { raw: b64url(rfc822({ date })), labelIds: ['INBOX'] } })).data);
    const inserted = await insert(rfc822({ date }));
    const get = async (id: string) => (await h.gmail.users.messages.get({ userId: 'me', id, format: 'minimal' })).data.internalDate;
    assert.equal(await get(imported.id!), String(Date.parse(date)));
    assert.notEqual(await get(inserted.id!), String(Date.parse(date)));
  });

  it('list filters by labelIds and q, pages newest first, hides SPAM and TRASH', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await insert(rfc822({ subject: `Note ${i}`, from: i % 2 ? 'Dave <dave@example.com>' : undefined, body: `word${i}\r\n` }))).id!);
    }
    const spam = await insert(rfc822({ subject: 'Buy now' }), ['SPAM']);
    const all: string[] = [];
    let pageToken: string | undefined;
    do {
      const r = valid('gmail.users.messages.list', (await h.gmail.users.messages.list({ userId: 'me', maxResults: 2, pageToken })).data);
      assert.equal(r.resultSizeEstimate, 5);
      all.push(...r.messages!.map((m) => m.id!));
      pageToken = r.nextPageToken ?? undefined;
    } while (pageToken);
    assert.deepEqual(all, [...ids].reverse());

    const list = async (params: { q?: string; labelIds?: string[]; includeSpamTrash?: boolean }) =>
      (valid('gmail.users.messages.list', (await h.gmail.users.messages.list({ userId: 'me', ...params })).data).messages ?? []).map((m) => m.id);
    assert.deepEqual(await list({ q: 'from:dave' }), [ids[3], ids[1]]);
    assert.deepEqual(await list({ q: 'subject:"note 2"' }), [ids[2]]);
    assert.deepEqual(await list({ q: 'word4' }), [ids[4]]);
    assert.deepEqual(await list({ q: '-from:dave is:unread' }), [ids[4], ids[2], ids[0]]);
    assert.deepEqual(await list({ labelIds: ['SPAM'] }), [spam.id]);
    assert.deepEqual(await list({ q: 'in:spam' }), [spam.id]);
    assert.equal((await list({ includeSpamTrash: true })).length, 6);
    assert.deepEqual(await list({ labelIds: ['INBOX', 'STARRED'] }), []);
    const empty = valid('gmail.users.messages.list', (await h.gmail.users.messages.list({ userId: 'me', q: 'nothing-matches-this' })).data);
    assert.deepEqual(empty, { resultSizeEstimate: 0 });
  });

  it('modify, batchModify, trash, untrash, delete, batchDelete', async () => {
    const a = await insert(rfc822());
    const b = await insert(rfc822());
    const mod = valid('gmail.users.messages.modify', (await h.gmail.users.messages.modify({ userId: 'me', id: a.id!, requestBody: { addLabelIds: ['STARRED'], removeLabelIds: ['UNREAD'] } })).data);
    assert.deepEqual(mod.labelIds, ['INBOX', 'STARRED']);
    const bad = await failure(h.gmail.users.messages.modify({ userId: 'me', id: a.id!, requestBody: { addLabelIds: ['Label_404'] } }));
    assert.equal(bad.status, 400);
    assert.equal((await failure(h.gmail.users.messages.modify({ userId: 'me', id: a.id!, requestBody: { addLabelIds: ['SENT'] } }))).status, 400);

    const batch = await h.gmail.users.messages.batchModify({ userId: 'me', requestBody: { ids: [a.id!, b.id!, 'ffffffff'], addLabelIds: ['IMPORTANT'], removeLabelIds: ['INBOX'] } });
    assert.equal(batch.status, 204);
    valid('gmail.users.messages.batchModify', batch.data);
    const labelsOf = async (id: string) => (await h.gmail.users.messages.get({ userId: 'me', id, format: 'minimal' })).data.labelIds;
    assert.deepEqual(await labelsOf(b.id!), ['UNREAD', 'IMPORTANT']);

    await h.gmail.users.messages.modify({ userId: 'me', id: a.id!, requestBody: { addLabelIds: ['INBOX'] } });
    const trashed = valid('gmail.users.messages.trash', (await h.gmail.users.messages.trash({ userId: 'me', id: a.id! })).data);
    assert.ok(trashed.labelIds!.includes('TRASH'));
    assert.ok(!trashed.labelIds!.includes('INBOX'));
    const untrashed = valid('gmail.users.messages.untrash', (await h.gmail.users.messages.untrash({ userId: 'me', id: a.id! })).data);
    assert.deepEqual(untrashed.labelIds, ['STARRED', 'IMPORTANT']);

    assert.equal((await h.gmail.users.messages.delete({ userId: 'me', id: a.id! })).status, 204);
    assert.equal((await failure(h.gmail.users.messages.get({ userId: 'me', id: a.id! }))).status, 404);
    assert.equal((await failure(h.gmail.users.messages.delete({ userId: 'me', id: a.id! }))).reason, 'notFound');
    await h.gmail.users.messages.batchDelete({ userId: 'me', requestBody: { ids: [b.id!] } });
    assert.equal((await h.gmail.users.getProfile({ userId: 'me' })).data.messagesTotal, 0);
  });

  it('send stores a SENT copy, delivers to local users without Bcc, and needs a recipient', async () => {
    h.emu.state.addUser('bob@example.org');
    const raw = rfc822({ from: USER, to: 'Bob <bob@example.org>', extra: 'Bcc: secret@example.com', subject: 'Lunch?' });
    const sent = valid('gmail.users.messages.send', (await h.gmail.users.messages.send({ userId: 'me', requestBody: { raw: b64url(raw) } })).data);
    assert.deepEqual(sent.labelIds, ['SENT']);
    assert.deepEqual(h.emu.state.sent, [{ from: USER, recipients: ['bob@example.org', 'secret@example.com'], messageId: sent.id }]);
    const [got] = h.emu.state.mailbox('bob@example.org').all();
    assert.deepEqual(got!.labelIds, ['INBOX', 'UNREAD']);
    assert.ok(!got!.raw.toString().includes('Bcc:'));
    const none = await failure(h.gmail.users.messages.send({ userId: 'me', requestBody: { raw: b64url('Subject: x\r\n\r\nbody\r\n') } }));
    assert.equal(none.status, 400);
    assert.equal((await failure(h.gmail.users.messages.send({ userId: 'me', requestBody: {} }))).status, 400);
  });

  it('threads by References and subject; threads.list, get, modify, trash, untrash, delete', async () => {
    const first = await insert(rfc822({ subject: 'Plans', messageId: '<p1@example.org>' }));
    const reply = await insert(rfc822({ subject: 'Re: Plans', messageId: '<p2@example.org>', extra: 'In-Reply-To: <p1@example.org>\r\nReferences: <p1@example.org>' }));
    const other = await insert(rfc822({ subject: 'Other', extra: 'References: <p1@example.org>' }));
    assert.equal(reply.threadId, first.threadId);
    assert.notEqual(other.threadId, first.threadId);

    const threads = valid('gmail.users.threads.list', (await h.gmail.users.threads.list({ userId: 'me' })).data);
    assert.deepEqual(threads.threads!.map((t) => t.id), [other.threadId, first.threadId]);
    assert.equal(threads.resultSizeEstimate, 2);
    const t = valid('gmail.users.threads.get', (await h.gmail.users.threads.get({ userId: 'me', id: first.threadId!, format: 'metadata', metadataHeaders: ['Subject'] })).data);
    assert.deepEqual(t.messages!.map((m) => m.id), [first.id, reply.id]);
    assert.deepEqual(t.messages![1]!.payload!.headers, [{ name: 'Subject', value: 'Re: Plans' }]);

    const modified = valid('gmail.users.threads.modify', (await h.gmail.users.threads.modify({ userId: 'me', id: first.threadId!, requestBody: { removeLabelIds: ['UNREAD'] } })).data);
    assert.ok(modified.messages!.every((m) => !m.labelIds!.includes('UNREAD')));
    valid('gmail.users.threads.trash', (await h.gmail.users.threads.trash({ userId: 'me', id: first.threadId! })).data);
    assert.deepEqual((await h.gmail.users.threads.list({ userId: 'me' })).data.threads!.map((x) => x.id), [other.threadId]);
    valid('gmail.users.threads.untrash', (await h.gmail.users.threads.untrash({ userId: 'me', id: first.threadId! })).data);
    await h.gmail.users.threads.delete({ userId: 'me', id: first.threadId! });
    assert.equal((await failure(h.gmail.users.threads.get({ userId: 'me', id: first.threadId! }))).status, 404);
  });

  it('refuses another user, a media upload and unknown methods', async () => {
    assert.equal((await failure(h.gmail.users.getProfile({ userId: 'mallory@example.com' }))).status, 403);
    const token = h.emu.state.tokensFor(USER).access_token;
    const upload = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'message/rfc822' },
      body: rfc822(),
    });
    assert.equal(upload.status, 400);
    const unknown = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/mailboxes`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(unknown.status, 404);
    const drafts = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/drafts`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(drafts.status, 501);
  });
});
