// users.labels.* through the googleapis client.

import assert from 'node:assert/strict';
import { b64url, failure, rfc822, useHarness, valid } from './helpers';

// The discovery document marks both visibilities as required on create and update; the
// emulator holds clients to that (Gmail itself is more lenient).
const VIS = { labelListVisibility: 'labelShow', messageListVisibility: 'show' } as const;

describe('gmail emulator: labels', () => {
  const h = useHarness();

  it('lists the system labels', async () => {
    const list = valid('gmail.users.labels.list', (await h.gmail.users.labels.list({ userId: 'me' })).data);
    const ids = list.labels!.map((l) => l.id);
    for (const id of ['INBOX', 'SENT', 'DRAFT', 'TRASH', 'SPAM', 'STARRED', 'UNREAD', 'IMPORTANT', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS', 'CATEGORY_PERSONAL']) {
      assert.ok(ids.includes(id), id);
    }
    assert.ok(list.labels!.every((l) => l.type === 'system'));
  });

  it('create, get with counts, patch, update, delete; "/" nests names', async () => {
    const parent = valid('gmail.users.labels.create', (await h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'Projects', ...VIS } })).data);
    const child = (await h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'Projects/Alpha', ...VIS, labelListVisibility: 'labelShowIfUnread', color: { textColor: '#000000', backgroundColor: '#ffffff' } } })).data;
    assert.match(parent.id!, /^Label_\d+$/);
    assert.equal(child.name, 'Projects/Alpha');
    assert.equal(child.type, 'user');
    assert.equal(child.labelListVisibility, 'labelShowIfUnread');

    const m = (await h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), labelIds: [child.id!, 'UNREAD'] } })).data;
    const got = valid('gmail.users.labels.get', (await h.gmail.users.labels.get({ userId: 'me', id: child.id! })).data);
    assert.equal(got.messagesTotal, 1);
    assert.equal(got.messagesUnread, 1);
    assert.equal(got.threadsTotal, 1);

    const patched = valid('gmail.users.labels.patch', (await h.gmail.users.labels.patch({ userId: 'me', id: child.id!, requestBody: { name: 'Projects/Beta' } })).data);
    assert.equal(patched.name, 'Projects/Beta');
    assert.equal(patched.labelListVisibility, 'labelShowIfUnread');
    const updated = valid('gmail.users.labels.update', (await h.gmail.users.labels.update({ userId: 'me', id: child.id!, requestBody: { id: child.id!, name: 'Projects/Gamma', ...VIS } })).data);
    assert.equal(updated.labelListVisibility, 'labelShow');
    assert.equal(updated.color, undefined);
    assert.equal(updated.id, child.id);

    assert.equal((await h.gmail.users.labels.delete({ userId: 'me', id: child.id! })).status, 204);
    assert.equal((await failure(h.gmail.users.labels.get({ userId: 'me', id: child.id! }))).status, 404);
    const after = (await h.gmail.users.messages.get({ userId: 'me', id: m.id!, format: 'minimal' })).data;
    assert.deepEqual(after.labelIds, ['UNREAD']);
  });

  it('refuses duplicate, reserved and malformed names and changes to system labels', async () => {
    await h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'Receipts', ...VIS } });
    const dup = await failure(h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'receipts', ...VIS } }));
    assert.equal(dup.status, 409);
    assert.equal((await failure(h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'Inbox', ...VIS } }))).status, 400);
    assert.equal((await failure(h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'a//b', ...VIS } }))).status, 400);
    const missing = await failure(h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'NoVisibility' } }));
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.body), /missing required field \\"labelListVisibility\\"/);
    assert.equal((await failure(h.gmail.users.labels.delete({ userId: 'me', id: 'INBOX' }))).status, 400);
    assert.equal((await failure(h.gmail.users.labels.patch({ userId: 'me', id: 'STARRED', requestBody: { name: 'Stars' } }))).status, 400);
    assert.equal((await failure(h.gmail.users.labels.update({ userId: 'me', id: 'Label_99', requestBody: { id: 'Label_99', name: 'x', ...VIS } }))).status, 404);
    assert.equal((await failure(h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'x', ...VIS, labelListVisibility: 'always' as never } }))).status, 400);
  });
});
