// End to end against Dovecot's real POP3 server: mail delivered into the maildrop reaches
// an IDLE-ing imapflow client; bodies are byte-exact; a restart keeps every UID; expunge
// hides (or deletes with --delete-on-expunge); other folders live in the shadow store.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { Pop3Client } from '../../adapters/pop3/client';
import { requireDovecot, startDovecot, type DovecotInstance } from '../support/dovecot';
import { eventually, message, startSyncServer, type SyncServer } from './helpers';

function imap(port: number, user: string, pass: string): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false });
}

async function uidsAndSubjects(client: ImapFlow): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const m of client.fetch('1:*', { uid: true, envelope: true })) out.push([m.uid, m.envelope?.subject ?? '']);
  return out;
}

/** Maildir names start with the time in ms: a pause keeps the maildrop in delivery order. */
async function deliverInOrder(dovecot: DovecotInstance, user: string, messages: Buffer[]): Promise<void> {
  for (const m of messages) {
    await dovecot.deliver(user, m);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function count(client: ImapFlow): Promise<number> {
  const status = await client.status('INBOX', { messages: true });
  return status ? (status.messages ?? 0) : 0;
}

async function maildropSize(dovecot: DovecotInstance, user: string): Promise<number> {
  const c = await Pop3Client.connect({ host: '127.0.0.1', port: dovecot.pop3Port, security: 'none', timeoutMs: 5000 });
  await c.login(user, dovecot.users[user]);
  const n = (await c.uidl()).length;
  await c.quit();
  return n;
}

describe('POP3 backend (Dovecot) end to end', function () {
  this.timeout(60000);
  let dovecot: DovecotInstance;
  let server: SyncServer | null = null;
  const clients: ImapFlow[] = [];

  before(async function () {
    requireDovecot(this);
    dovecot = await startDovecot({ users: { alice: 'alice-pop', bob: 'bob-pop', carol: 'carol-pop' } });
  });
  after(async () => {
    for (const c of clients) await c.logout().catch(() => undefined);
    await server?.stop();
    await dovecot?.stop();
  });

  // 8-bit bytes, a line that starts with a dot (POP3 dot-stuffing), a lone dot line, CRLF.
  const eightBit = Buffer.concat([
    Buffer.from('From: a@example.org\r\nSubject: eight bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x0d, 0x0a]),
    Buffer.from('.leading dot\r\n..two dots\r\n.\r\nend\r\n'),
  ]);

  it('shows the maildrop in INBOX with byte-exact bodies and pushes new mail to IDLE', async () => {
    server = await startSyncServer();
    await server.memgate.store.createUser('alice', 'imap-pass');
    await deliverInOrder(dovecot, 'alice', [message('first'), eightBit]);
    await server.addPop3Account('alice', { host: '127.0.0.1', port: dovecot.pop3Port, username: 'alice', password: 'alice-pop' });

    const client = imap(server.port, 'alice', 'imap-pass');
    clients.push(client);
    await client.connect();
    await client.mailboxOpen('INBOX');
    await eventually(async () => (await count(client)) === 2, 15000, 'two messages');
    const list = await uidsAndSubjects(client);
    assert.deepEqual(list, [[1, 'first'], [2, 'eight bit']]);
    const fetched = await client.fetchOne('2', { source: true, size: true }, { uid: true });
    assert.ok(fetched);
    assert.deepEqual(fetched.source, eightBit);
    assert.equal(fetched.size, eightBit.length);

    // IDLE: imapflow idles on its own when nothing else is going on.
    const seen = new Promise<number>((resolve) => client.on('exists', (e: { count: number }) => resolve(e.count)));
    // imapflow starts IDLE on its own only after 15 s: start it now (it ends with the next command).
    void client.idle().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await dovecot.deliver('alice', message('while idling'));
    assert.equal(await seen, 3);
  });

  it('keeps every UID across a restart, without duplicates', async () => {
    const s = server!;
    for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
    await s.stop();
    await dovecot.deliver('alice', message('while down'));
    server = await startSyncServer({ databaseUrl: s.databaseUrl, dataDir: s.dataDir });
    const client = imap(server.port, 'alice', 'imap-pass');
    clients.push(client);
    await client.connect();
    await client.mailboxOpen('INBOX');
    await eventually(async () => (await count(client)) === 4, 15000, 'four messages');
    assert.deepEqual(await uidsAndSubjects(client), [
      [1, 'first'],
      [2, 'eight bit'],
      [3, 'while idling'],
      [4, 'while down'],
    ]);
  });

  it('EXPUNGE hides a message without deleting it at the server; MOVE keeps the body', async () => {
    const client = clients[0];
    await client.mailboxOpen('INBOX');
    await client.messageMove('1', 'Archive', { uid: true });
    await client.messageDelete('3', { uid: true });
    // Several polls later the hidden messages did not come back, and the server still has them.
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(await uidsAndSubjects(client), [
      [2, 'eight bit'],
      [4, 'while down'],
    ]);
    assert.equal(await maildropSize(dovecot, 'alice'), 4);
    await client.mailboxOpen('Archive');
    const archived = await client.fetchOne('*', { source: true, envelope: true });
    assert.ok(archived);
    assert.equal(archived.envelope?.subject, 'first');
  });

  it('--delete-on-expunge deletes at the server (DELE + QUIT) and keeps moved copies', async () => {
    const s = server!;
    await s.memgate.store.createUser('bob', 'imap-pass');
    await deliverInOrder(dovecot, 'bob', [message('keep me'), message('delete me'), message('move me')]);
    await s.addPop3Account('bob', { host: '127.0.0.1', port: dovecot.pop3Port, username: 'bob', password: 'bob-pop' }, { deleteOnExpunge: true });
    const client = imap(s.port, 'bob', 'imap-pass');
    clients.push(client);
    await client.connect();
    await client.mailboxOpen('INBOX');
    await eventually(async () => (await count(client)) === 3, 15000, 'three messages');
    await client.messageDelete('2', { uid: true });
    await client.messageMove('3', 'Archive', { uid: true });
    await eventually(async () => (await maildropSize(dovecot, 'bob')) === 1, 15000, 'DELE at the server');
    assert.deepEqual(await uidsAndSubjects(client), [[1, 'keep me']]);
    await client.mailboxOpen('Archive');
    const moved = await client.fetchOne('*', { source: true });
    assert.ok(moved);
    assert.match(moved.source!.toString(), /Subject: move me/);
  });
});
