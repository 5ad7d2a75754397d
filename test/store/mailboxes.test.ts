import assert from 'node:assert/strict';
import { AlreadyExistsError, CannotError, NotFoundError } from '../../src/core/errors';
import type { User } from '../../src/core/ports';
import { openTestStore, type TestStore } from '../support/db';
import { mailbox, rawMessage, rejects, uniqueName } from './helpers';

describe('store: mailboxes', () => {
  let t: TestStore;
  let user: User;
  before(async () => {
    t = await openTestStore();
  });
  after(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    user = await t.store.createUser(uniqueName(), 'pw');
  });

  const names = async () => (await t.store.listMailboxes(user.id)).map((m) => m.name).sort();

  it('creates a mailbox with its missing parents', async () => {
    const created = await t.store.createMailbox(user.id, 'Projects/2026/Q1');
    assert.equal(created.name, 'Projects/2026/Q1');
    assert.equal(created.specialUse, null);
    assert.equal(created.highestModseq, 1);
    const all = await names();
    assert.ok(all.includes('Projects') && all.includes('Projects/2026') && all.includes('Projects/2026/Q1'));
    // a trailing delimiter only announces children (RFC 9051 6.3.4)
    assert.equal((await t.store.createMailbox(user.id, 'Lists/')).name, 'Lists');
  });

  it('refuses to create an existing name, and unusable names', async () => {
    await t.store.createMailbox(user.id, 'Work');
    assert.ok((await rejects(t.store.createMailbox(user.id, 'Work'))) instanceof AlreadyExistsError);
    assert.ok((await rejects(t.store.createMailbox(user.id, 'inbox'))) instanceof AlreadyExistsError);
    assert.ok((await rejects(t.store.createMailbox(user.id, 'a//b'))) instanceof CannotError);
    assert.ok((await rejects(t.store.createMailbox(user.id, 'a*'))) instanceof CannotError);
    // other names are case-sensitive
    assert.equal((await t.store.createMailbox(user.id, 'work')).name, 'work');
  });

  it('treats INBOX case-insensitively, also as the first level', async () => {
    const inbox = await mailbox(t.store, user.id, 'INBOX');
    assert.equal((await t.store.getMailbox(user.id, 'iNbOx'))?.id, inbox.id);
    const child = await t.store.createMailbox(user.id, 'inbox/Receipts');
    assert.equal(child.name, 'INBOX/Receipts');
    assert.equal((await t.store.getMailbox(user.id, 'Inbox/Receipts'))?.id, child.id);
    assert.equal(await t.store.getMailbox(user.id, 'inbox/receipts'), null);
  });

  it('gives a recreated mailbox a new UIDVALIDITY', async () => {
    const first = await t.store.createMailbox(user.id, 'Again');
    await t.store.deleteMailbox(user.id, 'Again');
    const second = await t.store.createMailbox(user.id, 'Again');
    assert.notEqual(second.id, first.id);
    assert.ok(second.uidValidity > first.uidValidity);
    assert.ok(second.uidValidity <= 4294967295);
    const log = await t.db.dataSource.query<{ reason: string }[]>(
      'SELECT reason FROM uid_validity_log WHERE user_id = $1 AND name = $2 ORDER BY id',
      [user.id, 'Again'],
    );
    assert.deepEqual(log.map((l) => l.reason), ['created', 'created']);
  });

  it('deletes one mailbox with its messages but not its children', async () => {
    const parent = await t.store.createMailbox(user.id, 'Old');
    await t.store.createMailbox(user.id, 'Old/Child');
    await t.store.appendMessages(user.id, parent.id, [{ raw: rawMessage('gone'), flags: [] }]);
    await t.store.deleteMailbox(user.id, 'Old');
    const all = await names();
    assert.ok(!all.includes('Old'));
    assert.ok(all.includes('Old/Child'));
    const [rows] = await t.db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM mailbox_messages WHERE mailbox_id = $1', [
      parent.id,
    ]);
    assert.equal(rows.n, '0');
    // the unreferenced content was collected
    const [contents] = await t.db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM message_contents WHERE user_id = $1', [
      user.id,
    ]);
    assert.equal(contents.n, '0');
  });

  it('refuses to delete INBOX or a missing mailbox', async () => {
    assert.ok((await rejects(t.store.deleteMailbox(user.id, 'inbox'))) instanceof CannotError);
    assert.ok((await rejects(t.store.deleteMailbox(user.id, 'Nope'))) instanceof NotFoundError);
  });

  it('renames a hierarchy, keeping ids and UIDVALIDITY, creating new parents', async () => {
    const a = await t.store.createMailbox(user.id, 'A');
    const ab = await t.store.createMailbox(user.id, 'A/B');
    await t.store.createMailbox(user.id, 'AB'); // shares the prefix but is not below A
    await t.store.subscribe(user.id, 'A/B');
    await t.store.renameMailbox(user.id, 'A', 'X/Y');
    const all = await names();
    assert.ok(all.includes('X') && all.includes('X/Y') && all.includes('X/Y/B') && all.includes('AB'));
    assert.ok(!all.includes('A') && !all.includes('A/B'));
    const xy = await mailbox(t.store, user.id, 'X/Y');
    const xyb = await mailbox(t.store, user.id, 'X/Y/B');
    assert.equal(xy.id, a.id);
    assert.equal(xy.uidValidity, a.uidValidity);
    assert.equal(xyb.id, ab.id);
    assert.equal(xyb.uidValidity, ab.uidValidity);
    assert.ok((await t.store.listSubscriptions(user.id)).includes('X/Y/B'));
  });

  it('renames a mailbox to its own ancestor level', async () => {
    await t.store.createMailbox(user.id, 'P/Q/Q/R');
    await t.store.deleteMailbox(user.id, 'P');
    await t.store.renameMailbox(user.id, 'P/Q', 'P');
    const all = await names();
    assert.ok(all.includes('P') && all.includes('P/Q') && all.includes('P/Q/R'));
    assert.ok(!all.includes('P/Q/Q'));
  });

  it('refuses renames onto existing names, of missing sources and into itself', async () => {
    await t.store.createMailbox(user.id, 'One');
    await t.store.createMailbox(user.id, 'Two');
    assert.ok((await rejects(t.store.renameMailbox(user.id, 'One', 'Two'))) instanceof AlreadyExistsError);
    assert.ok((await rejects(t.store.renameMailbox(user.id, 'One', 'INBOX'))) instanceof AlreadyExistsError);
    assert.ok((await rejects(t.store.renameMailbox(user.id, 'Missing', 'Three'))) instanceof NotFoundError);
    assert.ok((await rejects(t.store.renameMailbox(user.id, 'One', 'One/Sub'))) instanceof CannotError);
  });

  it('renaming INBOX moves its messages into a new mailbox and leaves INBOX empty', async () => {
    const inbox = await mailbox(t.store, user.id, 'INBOX');
    const child = await t.store.createMailbox(user.id, 'INBOX/Kept');
    await t.store.appendMessages(user.id, inbox.id, [
      { raw: rawMessage('one'), flags: ['\\Seen'] },
      { raw: rawMessage('two'), flags: ['$Work'] },
    ]);
    await t.store.expungeMessages(user.id, inbox.id, [1]);
    await t.store.renameMailbox(user.id, 'inbox', 'Old Mail');
    const moved = await mailbox(t.store, user.id, 'Old Mail');
    assert.notEqual(moved.id, inbox.id);
    const movedMessages = await t.store.listMessages(user.id, moved.id);
    assert.deepEqual(movedMessages.map((m) => [m.uid, m.flags]), [[1, ['$Work']]]);
    assert.deepEqual(await t.store.listMessages(user.id, inbox.id), []);
    const after = await mailbox(t.store, user.id, 'INBOX');
    assert.equal(after.id, inbox.id);
    assert.equal(after.uidValidity, inbox.uidValidity);
    assert.equal(after.uidNext, 3);
    // children of INBOX are not renamed with it
    assert.equal((await mailbox(t.store, user.id, 'INBOX/Kept')).id, child.id);
  });

  it('subscribes and unsubscribes names, existing or not', async () => {
    await t.store.subscribe(user.id, 'Not/Yet');
    await t.store.subscribe(user.id, 'Not/Yet'); // idempotent
    await t.store.subscribe(user.id, 'inbox/x');
    let subs = await t.store.listSubscriptions(user.id);
    assert.ok(subs.includes('Not/Yet') && subs.includes('INBOX/x'));
    await t.store.unsubscribe(user.id, 'Not/Yet');
    subs = await t.store.listSubscriptions(user.id);
    assert.ok(!subs.includes('Not/Yet'));
    assert.ok((await rejects(t.store.unsubscribe(user.id, 'Not/Yet'))) instanceof NotFoundError);
  });

  it('counts messages, unseen, deleted and size', async () => {
    const box = await t.store.createMailbox(user.id, 'Counted');
    const a = rawMessage('a');
    const b = rawMessage('b', 'longer body');
    await t.store.appendMessages(user.id, box.id, [
      { raw: a, flags: ['\\Seen'] },
      { raw: b, flags: ['\\Deleted'] },
      { raw: a, flags: [] },
    ]);
    assert.deepEqual(await t.store.mailboxCounts(user.id, box.id), {
      messages: 3,
      unseen: 2,
      deleted: 1,
      size: a.length * 2 + b.length,
    });
  });
});
