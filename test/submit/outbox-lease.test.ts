// The outbox's lease: a claimed message is skipped by other workers, no database
// transaction stays open while it is sent, the next hop's reply is kept, and a worker
// that lost its lease (another process took the message over) records nothing.
import assert from 'node:assert/strict';
import { InProcessEventBus } from '../../src/store/event-bus';
import { PgOutbox } from '../../src/store/outbox';
import { PgSendingAccounts } from '../../src/store/sending-accounts';
import type { DeliveryOutcome, OutboxEntry } from '../../src/submit/ports';
import { openTestStore, type TestStore } from '../support/db';

describe('outbox lease', function () {
  let ts: TestStore;
  let bus: InProcessEventBus;
  let outbox: PgOutbox;
  let userId: string;
  let accountId: string;

  before(async () => {
    ts = await openTestStore();
    bus = new InProcessEventBus();
    outbox = new PgOutbox(ts.db.dataSource, bus, { leaseSeconds: 30 });
    const user = await ts.store.createUser('lena', 'lena-pass');
    userId = user.id;
    accountId = (await new PgSendingAccounts(ts.db.dataSource).findAccount(user.id, 'primary'))!.id;
  });
  after(async () => {
    await bus?.close();
    await ts?.close();
  });

  const enqueue = (subject: string): Promise<string> =>
    outbox.enqueue({
      userId,
      accountId,
      envelope: { mailFrom: 'lena@example.org', recipients: [{ address: 'max@remote.test' }] },
      raw: Buffer.from(`From: <lena@example.org>\r\nSubject: ${subject}\r\n\r\nHi.\r\n`),
      giveUpAt: new Date(Date.now() + 3_600_000),
    });

  const row = async (id: string): Promise<{ state: string; lease_token: string | null; remote_reply: string | null; attempts: number; copy_filed: boolean }> =>
    (await ts.db.dataSource.query('SELECT state, lease_token, remote_reply, attempts, copy_filed FROM outbox WHERE id = $1', [id]))[0];

  it('sends with no transaction open, skips a claimed message, and keeps the reply', async () => {
    const id = await enqueue('claimed');
    let seen: OutboxEntry | null = null;
    const delivered = await outbox.deliverNext(async (entry): Promise<DeliveryOutcome> => {
      seen = entry;
      const open = await ts.db.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      assert.equal(open[0].n, 0, 'no transaction open during the send');
      assert.ok((await row(id)).lease_token, 'claimed');
      assert.equal(await outbox.deliverNext(() => Promise.reject(new Error('must not be called'))), false, 'a second worker skips it');
      return { kind: 'sent', reply: '250 2.0.0 Ok: queued as 4XYZ', sentCopy: null, report: null };
    });
    assert.equal(delivered, true);
    assert.equal(seen!.attempts, 0, 'no attempt before this one');
    const after = await row(id);
    assert.deepEqual([after.state, after.lease_token, after.remote_reply, after.attempts], ['sent', null, '250 2.0.0 Ok: queued as 4XYZ', 1]);
  });

  it('records nothing when the lease was taken over during the send', async () => {
    const id = await enqueue('taken over');
    await assert.rejects(
      outbox.deliverNext(async (): Promise<DeliveryOutcome> => {
        await ts.db.dataSource.query(`UPDATE outbox SET lease_token = 'another-process' WHERE id = $1`, [id]);
        return { kind: 'sent', sentCopy: Buffer.from('copy'), report: null };
      }),
      /lease lost during delivery/,
    );
    const after = await row(id);
    assert.deepEqual([after.state, after.lease_token, after.copy_filed], ['queued', 'another-process', false]);
  });
});
