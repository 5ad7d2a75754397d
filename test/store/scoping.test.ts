// Invariant 8: every query is scoped by the user; another user's ids behave as unknown.
import assert from 'node:assert/strict';
import { NotFoundError } from '../../src/core/errors';
import type { Mailbox, User } from '../../src/core/ports';
import { openTestStore, type TestStore } from '../support/db';
import { mailbox, rawMessage, rejects, uniqueName } from './helpers';

describe('store: per-user scoping', () => {
  let t: TestStore;
  let alice: User;
  let bob: User;
  let aliceInbox: Mailbox;
  let bobInbox: Mailbox;
  before(async () => {
    t = await openTestStore();
    alice = await t.store.createUser(uniqueName('alice'), 'pw');
    bob = await t.store.createUser(uniqueName('bob'), 'pw');
    aliceInbox = await mailbox(t.store, alice.id, 'INBOX');
    bobInbox = await mailbox(t.store, bob.id, 'INBOX');
    await t.store.appendMessages(alice.id, aliceInbox.id, [{ raw: rawMessage('secret'), flags: [] }]);
  });
  after(async () => {
    await t?.close();
  });

  const notFound = async (p: Promise<unknown>) => assert.ok((await rejects(p)) instanceof NotFoundError);

  it("does not let one user read another's mailbox by id", async () => {
    await notFound(t.store.listMessages(bob.id, aliceInbox.id));
    await notFound(t.store.mailboxDelta(bob.id, aliceInbox.id, 0, 0));
    await notFound(t.store.mailboxCounts(bob.id, aliceInbox.id));
    const [message] = await t.store.listMessages(alice.id, aliceInbox.id);
    assert.equal(await t.store.getContent(bob.id, message.contentId), null);
    assert.equal((await t.store.getContentSummaries(bob.id, [message.contentId])).size, 0);
  });

  it("does not let one user change another's messages", async () => {
    await notFound(t.store.appendMessages(bob.id, aliceInbox.id, [{ raw: rawMessage('x'), flags: [] }]));
    await notFound(t.store.storeFlags(bob.id, aliceInbox.id, [1], 'add', ['\\Deleted']));
    await notFound(t.store.expungeMessages(bob.id, aliceInbox.id, [1]));
    await notFound(t.store.copyMessages(bob.id, aliceInbox.id, [1], bobInbox.id));
    await notFound(t.store.moveMessages(bob.id, bobInbox.id, [1], aliceInbox.id));
    const [message] = await t.store.listMessages(alice.id, aliceInbox.id);
    await t.store.saveContentSummary(bob.id, message.contentId, 'tampered');
    assert.equal((await t.store.getContentSummaries(alice.id, [message.contentId])).size, 0);
    assert.deepEqual(message.flags, []);
    assert.equal((await mailbox(t.store, alice.id, 'INBOX')).uidNext, 2);
  });

  it('keeps names per user and treats malformed ids as unknown', async () => {
    await t.store.createMailbox(alice.id, 'Private');
    assert.equal(await t.store.getMailbox(bob.id, 'Private'), null);
    await t.store.createMailbox(bob.id, 'Private'); // same name, other user: fine
    assert.ok(!(await t.store.listMailboxes(bob.id)).some((m) => m.id === aliceInbox.id));
    await notFound(t.store.listMessages(alice.id, 'not-a-number'));
    await notFound(t.store.listMessages('1 OR 1=1', aliceInbox.id));
    assert.deepEqual(await t.store.listMailboxes('99999999999999999999999'), []);
    await notFound(t.store.createMailbox('424242', 'Ghost'));
  });
});
