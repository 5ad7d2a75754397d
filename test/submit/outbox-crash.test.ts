// Invariant 7 across a crash: a message answered 250 and then caught mid-delivery by
// kill -9 is delivered exactly once by the next process on the same database, once the
// dead process's lease on it has run out (2 s here).
import assert from 'node:assert/strict';
import { openTestStore, type TestStore } from '../support/db';
import { freePort, startMemgateProcess, type MemgateProcess } from '../support/process';
import { PgSendingAccounts } from '../../src/store/sending-accounts';
import { message, SmtpRaw, startSink, type Sink } from './helpers';

describe('outbox across kill -9', function () {
  this.timeout(120000);
  let ts: TestStore;
  let sink: Sink;
  const procs: MemgateProcess[] = [];

  before(async () => {
    ts = await openTestStore();
    sink = await startSink();
    const user = await ts.store.createUser('kim', 'kim-pass');
    await new PgSendingAccounts(ts.db.dataSource).updateSubmissionSettings(user.id, {
      addresses: ['kim@example.org'],
      smtpRelay: { host: '127.0.0.1', port: sink.port, timeoutSeconds: 60 },
    });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop();
    await sink?.close();
    await ts?.close();
  });

  async function start(): Promise<{ proc: MemgateProcess; port: number }> {
    const port = await freePort();
    const proc = await startMemgateProcess({ DATABASE_URL: ts.db.url, MEMGATE_SUBMISSION_PORT: String(port), MEMGATE_OUTBOX_LEASE_SECONDS: '2' });
    procs.push(proc);
    return { proc, port };
  }

  async function states(): Promise<string[]> {
    const rows: Array<{ state: string }> = await ts.db.dataSource.query('SELECT state FROM outbox ORDER BY id');
    return rows.map((r) => r.state);
  }

  it('delivers a message caught mid-delivery exactly once after a restart', async () => {
    sink.stall = true;
    const first = await start();
    const { client } = await SmtpRaw.connect(first.port);
    await client.login('kim', 'kim-pass');
    await client.send('MAIL FROM:<kim@example.org>');
    await client.send('RCPT TO:<lee@remote.test>');
    await client.send('DATA');
    const body = message('kim@example.org', 'lee@remote.test', 'survives a crash');
    assert.match(await client.send(body + '.'), /^250 2\.6\.0 Message queued as \d+/);
    client.close();
    // The relay has the message but has not answered: the worker holds the lease, with no
    // database transaction open.
    const deadline = Date.now() + 30000;
    while (sink.stalled < 1) {
      if (Date.now() > deadline) throw new Error('the worker never reached the relay');
      await new Promise((r) => setTimeout(r, 50));
    }
    const open: Array<{ n: string }> = await ts.db.dataSource.query(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    assert.equal(Number(open[0].n), 0, 'no transaction held open across the relay send');
    const [claimed]: Array<{ lease_token: string | null }> = await ts.db.dataSource.query('SELECT lease_token FROM outbox');
    assert.ok(claimed.lease_token, 'the message is claimed');
    await first.proc.stop('SIGKILL');
    assert.deepEqual(await states(), ['queued']);
    assert.equal(sink.messages.length, 0);

    sink.stall = false;
    await start();
    await sink.waitFor(1, 30000);
    const until = Date.now() + 30000;
    while ((await states())[0] !== 'sent') {
      if (Date.now() > until) throw new Error(`outbox states: ${await states()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sink.messages.length, 1);
    assert.equal(sink.messages[0].raw.toString('latin1'), body);
    assert.deepEqual(sink.messages[0].to, ['lee@remote.test']);
    const [row]: Array<{ remote_reply: string; attempts: number; lease_token: string | null }> = await ts.db.dataSource.query(
      'SELECT remote_reply, attempts, lease_token FROM outbox',
    );
    assert.match(row.remote_reply, /^250 /, 'the relay\'s reply is kept');
    assert.equal(row.attempts, 2);
    assert.equal(row.lease_token, null);
  });
});
