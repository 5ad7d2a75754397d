// URLAUTH and CATENATE details that Dovecot's imaptest checks: GENURLAUTH accepts a URL
// without ;UIDVALIDITY, and APPEND CATENATE to a missing mailbox is [TRYCREATE] before any
// URL in it is judged.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

describe('URLAUTH / CATENATE compatibility', function () {
  let server: TestServer;
  let c: RawClient;
  let user: string;
  before(async () => {
    server = await startTestServer();
    const creds = await server.addUser();
    user = creds.user;
    c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    const msg = 'Subject: s1\r\n\r\nbody1\r\n';
    await c.command('a', `APPEND INBOX {${msg.length}+}\r\n${msg}`);
  });
  after(async () => {
    c?.close();
    await server?.stop();
  });

  it('GENURLAUTH without ;UIDVALIDITY gives a URL that URLFETCH resolves', async () => {
    const rump = `imap://${user}@127.0.0.1/INBOX/;uid=1;urlauth=user+${user}`;
    const gen = await c.command('g', `GENURLAUTH "${rump}" INTERNAL`);
    assert.match(gen, /^g OK/m, gen);
    const url = /^\* GENURLAUTH "?([^"\r\n]+)"?\r$/m.exec(gen)?.[1];
    assert.ok(url?.toLowerCase().startsWith(rump.toLowerCase() + ':internal:'), gen);
    const fetched = await c.command('f', `URLFETCH "${url}"`);
    assert.match(fetched, /^f OK/m, fetched);
    assert.match(fetched, /body1/);
  });

  it('APPEND CATENATE into a missing mailbox answers [TRYCREATE], even with a stale URL', async () => {
    const r = await c.command(
      'c',
      'APPEND Nowhere CATENATE (TEXT {4+}\r\nhi\r\n URL "/INBOX;UIDVALIDITY=12345/;UID=1/;SECTION=HEADER")',
    );
    assert.match(r, /^c NO \[TRYCREATE\]/m, r);
  });
});
