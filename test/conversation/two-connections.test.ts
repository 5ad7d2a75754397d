// Changes on one connection reach another: IDLE and NOOP get EXISTS / EXPUNGE / FETCH.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const MESSAGE = 'Subject: hi\r\n\r\nhello\r\n';

describe('two connections on one mailbox', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  async function open(): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    await c.command('s', 'SELECT INBOX');
    return c;
  }

  it('IDLE receives EXISTS, FETCH FLAGS and EXPUNGE from another connection', async () => {
    const watcher = await open();
    const actor = await open();
    watcher.write('i IDLE\r\n');
    assert.match(await watcher.readLine(), /^\+ /);

    await actor.command('a', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await watcher.waitFor((t) => /\* \d+ EXISTS\r\n/.test(t));
    const exists = watcher.drain();
    const n = Number(/\* (\d+) EXISTS/.exec(exists)![1]);

    await actor.command('n', 'NOOP');
    await actor.command('f', `STORE ${n} +FLAGS (\\Flagged)`);
    await watcher.waitFor((t) => t.includes('FETCH'));
    assert.match(watcher.drain(), new RegExp(`\\* ${n} FETCH \\(UID \\d+ FLAGS \\(\\\\Flagged\\)\\)`));

    await actor.command('d', `STORE ${n} +FLAGS.SILENT (\\Deleted)`);
    await actor.command('x', 'EXPUNGE');
    await watcher.waitFor((t) => t.includes('EXPUNGE'));
    assert.match(watcher.drain(), new RegExp(`\\* ${n} EXPUNGE`));

    watcher.write('DONE\r\n');
    assert.match(await watcher.untilTagged('i'), /^i OK/m);
    watcher.close();
    actor.close();
  });

  it('NOOP reports what happened meanwhile', async () => {
    const a = await open();
    const b = await open();
    await b.command('a', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    const r = await a.command('n', 'NOOP');
    assert.match(r, /^\* \d+ EXISTS/m);
    a.close();
    b.close();
  });

  it('a FETCH-time expunge by another session is held back until a command that allows it', async () => {
    const a = await open();
    const b = await open();
    await b.command('a', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await a.command('n', 'NOOP');
    await b.command('n', 'NOOP');
    const count = Number(/\* (\d+) EXISTS/.exec(await a.command('s2', 'SELECT INBOX'))![1]);
    await b.command('d', `STORE ${count} +FLAGS.SILENT (\\Deleted)`);
    await b.command('x', 'EXPUNGE');
    const store = await a.command('t', `STORE 1 +FLAGS.SILENT (\\Seen)`);
    assert.doesNotMatch(store, /EXPUNGE/);
    const noop = await a.command('n2', 'NOOP');
    assert.match(noop, new RegExp(`\\* ${count} EXPUNGE`));
    a.close();
    b.close();
  });
});
