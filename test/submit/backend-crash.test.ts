// Invariant 7 through a backend API: a message answered 250 whose Graph sendMail is held
// back (429 with a long Retry-After, which the client waits out inside the attempt) when
// memgate is killed with SIGKILL is sent exactly once by the next process on the same
// database, after the dead process's lease on it ran out (2 s here).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PgBackendSync } from '../../src/store/pg-backend-sync';
import { encryptCredentials } from '../../src/sync/credentials';
import { DEFAULT_CLIENT, startGraphEmulator, type GraphEmulator } from '../emulators/graph/server';
import { graphAccountSettings } from '../adapters/graph-helpers';
import { openTestStore, type TestStore } from '../support/db';
import { freePort, startMemgateProcess, type MemgateProcess } from '../support/process';
import { eventually } from '../sync/helpers';
import { compose, submitRaw } from './backends';

describe('outbox across kill -9, sending through Graph', function () {
  this.timeout(120000);
  const masterKey = randomBytes(32).toString('hex');
  const address = 'kit@contoso.com';
  let ts: TestStore;
  let emu: GraphEmulator;
  const procs: MemgateProcess[] = [];

  before(async () => {
    ts = await openTestStore();
    emu = await startGraphEmulator({ mailboxes: [address] });
    await ts.store.createUser('kit', 'kit-pass');
    await new PgBackendSync(ts.db.dataSource, ts.bus).addAccount({
      userName: 'kit',
      kind: 'graph',
      label: null,
      settings: graphAccountSettings(emu, address),
      credentials: encryptCredentials(Buffer.from(masterKey, 'hex'), { clientSecret: DEFAULT_CLIENT.clientSecret }),
    });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop();
    await emu?.stop();
    await ts?.close();
  });

  async function start(): Promise<number> {
    const port = await freePort();
    procs.push(
      await startMemgateProcess({
        DATABASE_URL: ts.db.url,
        MEMGATE_SUBMISSION_PORT: String(port),
        MEMGATE_OUTBOX_LEASE_SECONDS: '2',
        MEMGATE_MASTER_KEY: masterKey,
      }),
    );
    return port;
  }

  const states = async (): Promise<Array<{ state: string; attempts: number }>> => ts.db.dataSource.query('SELECT state, attempts FROM outbox ORDER BY id');
  const sendMails = () => emu.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/sendMail'));

  it('sends a message caught mid-delivery exactly once after a restart', async () => {
    emu.faults.throttle(60, { method: 'POST', path: '/sendMail', times: 1 });
    const port = await start();
    const raw = await compose({ from: address, to: 'lou@remote.test', subject: 'survives a crash', text: 'Once.' });
    assert.match(await submitRaw(port, { user: 'kit', pass: 'kit-pass' }, { from: address, to: ['lou@remote.test'] }, raw), /^250 2\.6\.0 /);
    // Graph said "not now, retry in 60 s": the worker waits inside the attempt, holding the lease.
    await eventually(() => sendMails().some((r) => r.status === 429), 30000, 'the throttled sendMail');
    await procs[0]!.stop('SIGKILL');
    assert.deepEqual((await states()).map((s) => s.state), ['queued']);
    assert.equal(emu.state.sent.length, 0);

    await start();
    await eventually(async () => (await states())[0]?.state === 'sent', 30000, 'the message sent by the second process');
    assert.equal(emu.state.sent.length, 1);
    assert.ok(emu.state.sent[0]!.mime.equals(raw));
    assert.equal((await states())[0]!.attempts, 2);
    assert.deepEqual(sendMails().map((r) => r.status), [429, 202]);
  });
});
