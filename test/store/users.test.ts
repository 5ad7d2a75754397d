import assert from 'node:assert/strict';
import { AlreadyExistsError } from '../../src/core/errors';
import { openTestStore, type TestStore } from '../support/db';
import { uniqueName, rejects } from './helpers';

describe('store: users', () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore();
  });
  after(async () => {
    await t?.close();
  });

  it('creates a user who can authenticate with the right password only', async () => {
    const name = uniqueName('Alice');
    const user = await t.store.createUser(name, 'correct horse');
    assert.equal(user.name, name);
    assert.match(user.id, /^\d+$/);
    assert.ok(user.createdAt instanceof Date);
    assert.equal((await t.store.authenticate(name, 'correct horse'))?.id, user.id);
    // names are case-insensitive logins
    assert.equal((await t.store.authenticate(name.toLowerCase(), 'correct horse'))?.id, user.id);
    assert.equal(await t.store.authenticate(name, 'wrong'), null);
    assert.equal(await t.store.authenticate(uniqueName('nobody'), 'correct horse'), null);
  });

  it('stores a salted scrypt hash, never the password', async () => {
    const a = uniqueName();
    const b = uniqueName();
    await t.store.createUser(a, 'same password');
    await t.store.createUser(b, 'same password');
    const rows = await t.db.dataSource.query<{ password_hash: string }[]>(
      'SELECT password_hash FROM users WHERE name = ANY($1) ORDER BY name',
      [[a, b]],
    );
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.match(r.password_hash, /^scrypt\$\d+\$\d+\$\d+\$/);
      assert.ok(!r.password_hash.includes('same password'));
    }
    assert.notEqual(rows[0].password_hash, rows[1].password_hash);
  });

  it('refuses a second user of the same name in another case', async () => {
    const name = uniqueName('Bob');
    await t.store.createUser(name, 'x');
    assert.ok((await rejects(t.store.createUser(name.toUpperCase(), 'y'))) instanceof AlreadyExistsError);
  });

  it('gives a new user a primary local account and the default mailboxes, all subscribed', async () => {
    const user = await t.store.createUser(uniqueName(), 'pw');
    const boxes = await t.store.listMailboxes(user.id);
    const byName = new Map(boxes.map((b) => [b.name, b.specialUse]));
    assert.deepEqual(
      [...byName.entries()].sort(),
      [
        ['Archive', '\\Archive'],
        ['Drafts', '\\Drafts'],
        ['INBOX', null],
        ['Junk', '\\Junk'],
        ['Sent', '\\Sent'],
        ['Trash', '\\Trash'],
      ],
    );
    assert.deepEqual((await t.store.listSubscriptions(user.id)).sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    const accounts = await t.db.dataSource.query<{ kind: string; is_primary: boolean; label: string | null }[]>(
      'SELECT kind, is_primary, label FROM accounts WHERE user_id = $1',
      [user.id],
    );
    assert.deepEqual(accounts, [{ kind: 'local', is_primary: true, label: null }]);
    for (const b of boxes) {
      assert.equal(b.accountId, boxes[0].accountId);
      assert.equal(b.uidNext, 1);
      assert.ok(b.uidValidity > 0);
    }
    // every mailbox has its own UIDVALIDITY
    assert.equal(new Set(boxes.map((b) => b.uidValidity)).size, boxes.length);
  });

  it('deletes a user with everything the user owns', async () => {
    const name = uniqueName();
    const user = await t.store.createUser(name, 'pw');
    const inbox = await t.store.getMailbox(user.id, 'INBOX');
    await t.store.appendMessages(user.id, inbox!.id, [{ raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), flags: [] }]);
    assert.equal(await t.store.deleteUser(name.toUpperCase()), true);
    assert.equal(await t.store.deleteUser(name), false);
    assert.equal(await t.store.authenticate(name, 'pw'), null);
    assert.ok(!(await t.store.listUsers()).some((u) => u.id === user.id));
    for (const table of ['accounts', 'mailboxes', 'mailbox_messages', 'message_contents', 'subscriptions']) {
      const [row] = await t.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM ${table} WHERE user_id = $1`, [user.id]);
      assert.equal(row.n, '0', table);
    }
  });

  it('lists users', async () => {
    const name = uniqueName('listed');
    const user = await t.store.createUser(name, 'pw');
    const listed = await t.store.listUsers();
    assert.ok(listed.some((u) => u.id === user.id && u.name === name));
  });
});
