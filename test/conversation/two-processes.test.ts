// Two memgate processes on one Postgres: a change made through one reaches an IDLE
// session on the other (store events cross processes through LISTEN/NOTIFY).
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startMemgateProcess, type MemgateProcess } from '../support/process';
import { openTestStore, type TestStore } from '../support/db';

describe('two memgate processes sharing one database', function () {
  this.timeout(120000);
  const procs: MemgateProcess[] = [];
  let ts: TestStore;

  before(async function () {
    ts = await openTestStore();
    const databaseUrl = ts.db.url;
    await ts.store.createUser('bob', 'bob-pass');
    procs.push(await startMemgateProcess({ DATABASE_URL: databaseUrl }));
    procs.push(await startMemgateProcess({ DATABASE_URL: databaseUrl }));
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await ts?.close();
  });

  it('delivers EXISTS and FETCH to an IDLE session on the other process', async () => {
    const [a, b] = procs;
    const watcher = await RawClient.connect(a.port);
    await watcher.command('l', 'LOGIN bob bob-pass');
    await watcher.command('s', 'SELECT INBOX');
    watcher.write('i IDLE\r\n');
    assert.match(await watcher.readLine(), /^\+ /);

    const actor = await RawClient.connect(b.port);
    await actor.command('l', 'LOGIN bob bob-pass');
    const msg = 'Subject: cross-process\r\n\r\nhi\r\n';
    await actor.command('a', `APPEND INBOX {${msg.length}+}\r\n${msg}`);
    await watcher.waitFor((t) => /\* 1 EXISTS/.test(t));
    await actor.command('s', 'SELECT INBOX');
    await actor.command('f', 'STORE 1 +FLAGS (\\Answered)');
    await watcher.waitFor((t) => /\* 1 FETCH \(UID 1 FLAGS \(\\Answered\)\)/.test(t));
    watcher.write('DONE\r\n');
    assert.match(await watcher.untilTagged('i'), /^i OK/m);
    watcher.close();
    actor.close();
  });

  it('SIGTERM says BYE to connected clients and exits 0', async () => {
    const p = procs.pop()!;
    const c = await RawClient.connect(p.port);
    const exit = p.stop('SIGTERM');
    await c.waitFor((t) => t.includes('* BYE'));
    assert.equal(await exit, 0);
  });
});
