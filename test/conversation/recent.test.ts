// \Recent (IMAP4rev1, RFC 3501 2.3.2): a new message is recent for exactly one session,
// the first to see it; EXAMINE looks without claiming; IMAP4rev2 sessions never see it.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

const MESSAGE = 'Subject: r\r\n\r\nrecent\r\n';

describe('\\Recent', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  async function open(): Promise<RawClient> {
    const c = await RawClient.connect(server.port, { keepRecent: true });
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    return c;
  }

  it('goes to the first session that selects, not to EXAMINE, and shows in FETCH, SEARCH and STATUS', async () => {
    const a = await open();
    const b = await open();
    await a.command('a', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    assert.match(await b.command('st', 'STATUS INBOX (RECENT)'), /^\* STATUS INBOX \(RECENT 1\)/m);
    assert.match(await b.command('e', 'EXAMINE INBOX'), /^\* 1 RECENT/m);
    assert.match(await a.command('s', 'SELECT INBOX'), /^\* 1 RECENT/m);
    assert.match(await a.command('f', 'FETCH 1 FLAGS'), /^\* 1 FETCH \(FLAGS \(\\Recent\)\)/m);
    assert.match(await a.command('r', 'SEARCH RECENT'), /^\* SEARCH 1\r$/m);
    assert.match(await a.command('n', 'SEARCH NEW'), /^\* SEARCH 1\r$/m);
    assert.match(await b.command('s', 'SELECT INBOX'), /^\* 0 RECENT/m);
    assert.match(await b.command('f', 'FETCH 1 FLAGS'), /^\* 1 FETCH \(FLAGS \(\)\)/m);
    // A message arriving while both are selected is recent for one of them only.
    await a.command('a2', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await a.command('n2', 'NOOP');
    await b.command('n2', 'NOOP');
    const flagsA = await a.command('f2', 'FETCH 2 FLAGS');
    const flagsB = await b.command('f2', 'FETCH 2 FLAGS');
    const holders = [flagsA, flagsB].filter((r) => r.includes('\\Recent')).length;
    assert.equal(holders, 1, `exactly one session holds \\Recent:\n${flagsA}\n${flagsB}`);
    a.close();
    b.close();
  });

  it('is never shown once IMAP4rev2 is enabled', async () => {
    const c = await open();
    await c.command('a', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    await c.command('en', 'ENABLE IMAP4rev2');
    const s = await c.command('s', 'SELECT INBOX');
    assert.doesNotMatch(s, /RECENT/);
    assert.doesNotMatch(await c.command('f', 'FETCH 1:* FLAGS'), /\\Recent/);
    c.close();
  });
});
