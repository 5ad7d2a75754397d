// Store events: published after commit, on the in-process bus and across processes.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import type { StoreEvent } from '../../src/core/events';
import type { User } from '../../src/core/ports';
import { InProcessEventBus, PgEventBus } from '../../src/store/event-bus';
import { openTestStore, type TestStore } from '../support/db';
import { mailbox, rawMessage, uniqueName, waitFor } from './helpers';

describe('store: events', () => {
  let t: TestStore;
  let user: User;
  let events: StoreEvent[];
  let unsubscribe: () => void;
  before(async () => {
    t = await openTestStore();
  });
  after(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    user = await t.store.createUser(uniqueName(), 'pw');
    events = [];
    unsubscribe = t.bus.subscribe(user.id, (e) => events.push(e));
  });
  afterEach(() => unsubscribe());

  const strip = (e: StoreEvent) => {
    const { origin: _origin, ...rest } = e;
    return rest;
  };

  it('announces each kind of change once it is committed', async () => {
    const inbox = await mailbox(t.store, user.id, 'INBOX');
    const seenInHandler: number[] = [];
    const off = t.bus.subscribe(user.id, (e) => {
      // the event arrives synchronously, after the commit: the change is visible
      if (e.kind === 'MessageNew') {
        void t.db.dataSource
          .query<{ n: string }[]>('SELECT count(*) AS n FROM mailbox_messages WHERE mailbox_id = $1', [e.mailboxId])
          .then(([r]) => seenInHandler.push(Number(r.n)));
      }
    });
    const { uids } = await t.store.appendMessages(user.id, inbox.id, [
      { raw: rawMessage('1'), flags: [] },
      { raw: rawMessage('2'), flags: [] },
    ]);
    off();
    const afterAppend = await mailbox(t.store, user.id, 'INBOX');
    assert.deepEqual(strip(events[0]), { kind: 'MessageNew', userId: user.id, mailboxId: inbox.id, uids, modseq: afterAppend.highestModseq });
    assert.equal(events[0].origin, t.bus.origin);
    await waitFor(() => seenInHandler.length === 1);
    assert.deepEqual(seenInHandler, [2]);

    await t.store.storeFlags(user.id, inbox.id, [1, 2], 'add', ['\\Seen']);
    await t.store.storeFlags(user.id, inbox.id, [1, 2], 'add', ['\\Seen']); // no change, no event
    await t.store.storeFlags(user.id, inbox.id, [2], 'remove', ['\\Seen']);
    await t.store.expungeMessages(user.id, inbox.id, [1]);
    const box = await t.store.createMailbox(user.id, 'Ev/Sub');
    await t.store.moveMessages(user.id, inbox.id, [2], box.id);
    await t.store.renameMailbox(user.id, 'Ev', 'Ev2');
    await t.store.subscribe(user.id, 'Ev2/Sub');
    await t.store.unsubscribe(user.id, 'Ev2/Sub');
    await t.store.deleteMailbox(user.id, 'Ev2/Sub');
    const summary = events.slice(1).map((e) =>
      'uids' in e ? `${e.kind} ${e.mailboxId === inbox.id ? 'inbox' : 'box'} ${e.uids.join(',')}` : `${e.kind} ${e.oldName ? e.oldName + '>' : ''}${e.name}`,
    );
    assert.deepEqual(summary, [
      'FlagsSet inbox 1,2',
      'FlagsClear inbox 2',
      'MessageExpunge inbox 1',
      'MailboxCreate Ev',
      'MailboxCreate Ev/Sub',
      'MessageNew box 1',
      'MessageExpunge inbox 2',
      'MailboxRename Ev>Ev2',
      'MailboxRename Ev/Sub>Ev2/Sub',
      'MailboxSubscribe Ev2/Sub',
      'MailboxUnSubscribe Ev2/Sub',
      'MailboxDelete Ev2/Sub',
    ]);
    assert.ok(events.every((e) => e.userId === user.id));
  });

  it("does not deliver one user's events to another user's subscribers", async () => {
    const other = await t.store.createUser(uniqueName(), 'pw');
    const inbox = await mailbox(t.store, other.id, 'INBOX');
    await t.store.appendMessages(other.id, inbox.id, [{ raw: rawMessage('x'), flags: [] }]);
    assert.deepEqual(events, []);
  });

  it('crosses between two PgEventBus instances on one database', async () => {
    const second = await PgEventBus.create(t.db.url);
    try {
      const remote: StoreEvent[] = [];
      second.subscribe(user.id, (e) => remote.push(e));
      const inbox = await mailbox(t.store, user.id, 'INBOX');
      await t.store.appendMessages(user.id, inbox.id, [{ raw: rawMessage('x'), flags: [] }]);
      await waitFor(() => remote.length === 1, 5000, 'the remote event');
      assert.equal(remote[0].kind, 'MessageNew');
      assert.equal(remote[0].origin, t.bus.origin);

      // and back, without echo: each side sees each event exactly once
      await second.publish({ kind: 'MailboxCreate', userId: user.id, mailboxId: null, name: 'FromSecond' });
      await waitFor(() => events.some((e) => e.kind === 'MailboxCreate'), 5000, 'the event from the second bus');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(events.filter((e) => e.kind === 'MailboxCreate').length, 1);
      assert.equal(events.filter((e) => e.kind === 'MessageNew').length, 1);
      assert.equal(remote.length, 2);

      // a long UID list arrives complete, split over several notifications
      const uids = Array.from({ length: 3000 }, (_, i) => i + 1);
      await t.bus.publish({ kind: 'FlagsSet', userId: user.id, mailboxId: inbox.id, uids, modseq: 5 });
      await waitFor(() => remote.filter((e) => e.kind === 'FlagsSet').flatMap((e) => ('uids' in e ? e.uids : [])).length === 3000);
    } finally {
      await second.close();
    }
  });

  it('reconnects the listener when its connection drops', async () => {
    const second = await PgEventBus.create(t.db.url);
    const admin = new Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      const remote: StoreEvent[] = [];
      second.subscribe(user.id, (e) => remote.push(e));
      const name = `memgate-events:${second.origin}`;
      const killed = await admin.query<{ pid: number }>(
        `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [name],
      );
      assert.equal(killed.rowCount, 1);
      // a new backend (not the dying one) that has run LISTEN
      await waitFor(async () => {
        const r = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%' AND pid <> $2`,
          [name, killed.rows[0].pid],
        );
        return r.rowCount === 1;
      }, 10000, 'the listener to reconnect');
      await second.whenListening();
      const inbox = await mailbox(t.store, user.id, 'INBOX');
      await t.store.appendMessages(user.id, inbox.id, [{ raw: rawMessage('after'), flags: [] }]);
      await waitFor(() => remote.length === 1, 5000, 'an event after reconnecting');
    } finally {
      await admin.end();
      await second.close();
    }
  });

  it('InProcessEventBus fans out synchronously per user and isolates failing handlers', async () => {
    const bus = new InProcessEventBus();
    const got: string[] = [];
    bus.subscribe('1', () => {
      throw new Error('bad handler');
    });
    const off = bus.subscribe('1', (e) => got.push(e.kind));
    bus.subscribe('2', () => got.push('wrong user'));
    const pending = bus.publish({ kind: 'MailboxDelete', userId: '1', mailboxId: '3', name: 'x' });
    assert.deepEqual(got, ['MailboxDelete'], 'delivered before publish resolves');
    await pending;
    off();
    await bus.publish({ kind: 'MailboxDelete', userId: '1', mailboxId: '3', name: 'x' });
    assert.equal(got.length, 1);
    await bus.close();
  });
});
