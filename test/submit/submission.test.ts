// The submission server with real clients: swaks (STARTTLS, implicit TLS, AUTH PLAIN and
// LOGIN, PIPELINING), nodemailer, and raw conversations; delivery through a loopback relay.
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../support/server';
import { message, requireSwaks, setupSending, SmtpRaw, startSink, swaks, type Sink } from './helpers';

async function mailboxRaw(server: TestServer, userId: string, name: string): Promise<Buffer[]> {
  const store = server.memgate.store;
  const mailbox = await store.getMailbox(userId, name);
  const out: Buffer[] = [];
  for (const m of await store.listMessages(userId, mailbox!.id)) {
    out.push((await store.getContent(userId, m.contentId))!.raw);
  }
  return out;
}

async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function outboxStates(server: TestServer): Promise<string[]> {
  const rows: Array<{ state: string }> = await server.memgate.database.dataSource.query('SELECT state FROM outbox ORDER BY id');
  return rows.map((r) => r.state);
}

describe('submission server', function () {
  this.timeout(60000);
  let server: TestServer;
  let sink: Sink;
  let user: { id: string; name: string };
  const password = 'sub-pass-1';
  let port: number;
  let tlsPort: number;

  before(async () => {
    server = await startTestServer();
    sink = await startSink();
    await server.addUser('alice', password);
    user = await setupSending(server, 'alice', ['alice@example.org', '@alias.example.org'], sink.port);
    port = server.memgate.submission.port!;
    tlsPort = server.memgate.submission.tlsPort!;
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
  });

  it('offers the extensions it implements in EHLO', async () => {
    const { client, greeting } = await SmtpRaw.connect(port);
    assert.match(greeting, /^220 /);
    const ehlo = await client.send('EHLO client.test');
    for (const ext of ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'DSN', 'CHUNKING', 'BINARYMIME', 'STARTTLS', 'AUTH PLAIN LOGIN']) {
      assert.match(ehlo, new RegExp(`^250[- ]${ext}\\r?$`, 'm'), ext);
    }
    assert.match(ehlo, /^250[- ]SIZE \d+\r?$/m);
    assert.doesNotMatch(ehlo, /SMTPUTF8|REQUIRETLS/);
    client.close();
  });

  it('sends with swaks over STARTTLS, AUTH PLAIN and PIPELINING; files a Sent copy', async function () {
    requireSwaks(this);
    const before = sink.messages.length;
    const r = await swaks([
      '--server', `127.0.0.1:${port}`, '-tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', password,
      '--pipeline', '--from', 'alice@example.org', '--to', 'bob@remote.test', '--header', 'Subject: swaks starttls',
    ]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /250 2\.6\.0 Message queued as \d+/);
    await sink.waitFor(before + 1);
    const got = sink.messages[before];
    assert.equal(got.from, 'alice@example.org');
    assert.deepEqual(got.to, ['bob@remote.test']);
    assert.match(got.raw.toString(), /Subject: swaks starttls/);
    await waitUntil(async () => (await mailboxRaw(server, user.id, 'Sent')).some((m) => m.equals(got.raw)), 'the Sent copy');
  });

  it('sends with swaks over implicit TLS and AUTH LOGIN, from a domain-wide address', async function () {
    requireSwaks(this);
    const before = sink.messages.length;
    const r = await swaks([
      '--server', `127.0.0.1:${tlsPort}`, '--tls-on-connect', '--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', password,
      '--from', 'anything@alias.example.org', '--to', 'carol@remote.test', '--header', 'Subject: swaks tls',
    ]);
    assert.equal(r.code, 0, r.output);
    await sink.waitFor(before + 1);
    assert.equal(sink.messages[before].from, 'anything@alias.example.org');
  });

  it('refuses a wrong password with 535 5.7.8', async function () {
    requireSwaks(this);
    const r = await swaks([
      '--server', `127.0.0.1:${port}`, '-tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'wrong',
      '--from', 'alice@example.org', '--to', 'bob@remote.test',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /535 5\.7\.8/);
  });

  it('sends what nodemailer composes, byte for byte, to the relay', async () => {
    const before = sink.messages.length;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: password },
    });
    const info = await transport.sendMail({
      from: 'Alice <alice@example.org>',
      to: 'dave@remote.test, erin@remote.test',
      subject: 'nodemailer with an attachment',
      text: 'See the attachment. Ünïcödé.',
      attachments: [{ filename: 'data.bin', content: Buffer.from([0, 1, 2, 253, 254, 255]) }],
    });
    transport.close();
    assert.match(info.response, /^250 2\.6\.0/);
    await sink.waitFor(before + 1);
    const got = sink.messages[before];
    assert.deepEqual([...got.to].sort(), ['dave@remote.test', 'erin@remote.test']);
    await waitUntil(async () => (await mailboxRaw(server, user.id, 'Sent')).some((m) => m.equals(got.raw)), 'the Sent copy');
  });

  it('removes Bcc before delivery (RFC 6409 8.1) and keeps it in the Sent copy', async () => {
    const before = sink.messages.length;
    const head = 'From: <alice@example.org>\r\nTo: <dave@remote.test>\r\n';
    const blind = 'Bcc: <boss@remote.test>,\r\n <audit@remote.test>\r\nresent-BCC: <x@remote.test>\r\n';
    const rest = 'Subject: blind copies\r\nMessage-ID: <bcc@test>\r\n\r\nBcc: this body line stays.\r\n';
    const { client } = await SmtpRaw.connect(port);
    await client.login('alice', password);
    await client.send('MAIL FROM:<alice@example.org>');
    for (const rcpt of ['dave@remote.test', 'boss@remote.test', 'audit@remote.test']) assert.match(await client.send(`RCPT TO:<${rcpt}>`), /^250 /);
    await client.send('DATA');
    assert.match(await client.send(head + blind + rest + '.'), /^250 /);
    client.close();
    await sink.waitFor(before + 1);
    const got = sink.messages[before];
    assert.equal(got.raw.toString('latin1'), head + rest);
    assert.deepEqual([...got.to].sort(), ['audit@remote.test', 'boss@remote.test', 'dave@remote.test']);
    const submitted = Buffer.from(head + blind + rest, 'latin1');
    await waitUntil(async () => (await mailboxRaw(server, user.id, 'Sent')).some((m) => m.equals(submitted)), 'the Sent copy with Bcc');
  });

  it('refuses MAIL FROM and From addresses of no account with 5.7.1, queueing nothing', async () => {
    const queued = (await outboxStates(server)).length;
    const { client } = await SmtpRaw.connect(port);
    await client.login('alice', password);
    assert.match(await client.send('MAIL FROM:<mallory@evil.test>'), /^550 5\.7\.1 <mallory@evil\.test> is not an address/);
    assert.match(await client.send('MAIL FROM:<>'), /^550 5\.7\.1 /);
    assert.match(await client.send('MAIL FROM:<alice@example.org>'), /^250 /);
    assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    assert.match(await client.send(message('ceo@evil.test', 'bob@remote.test', 'forged') + '.'), /^550 5\.7\.1 From address <ceo@evil\.test>/);
    // The connection lives on: a good message afterwards is accepted.
    assert.match(await client.send('MAIL FROM:<alice@example.org>'), /^250 /);
    assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    assert.match(await client.send(message('alice@example.org', 'bob@remote.test', 'fine') + '.'), /^250 2\.6\.0 /);
    client.close();
    assert.equal((await outboxStates(server)).length, queued + 1);
  });

  it('answers bad input with 5xx and enhanced codes, and lives on', async () => {
    const queued = (await outboxStates(server)).length;
    const { client } = await SmtpRaw.connect(port);
    assert.match(await client.send('MAIL FROM:<alice@example.org>'), /^503 5\.5\.1 /); // no EHLO yet
    assert.match(await client.send('EHLO client.test'), /^250/);
    assert.match(await client.send('MAIL FROM:<alice@example.org>'), /^530 5\.7\.0 /); // no AUTH yet
    assert.match(await client.send('FROB nicate'), /^500 5\.5\.2 /);
    assert.match(await client.send('AUTH CRAM-MD5'), /^504 5\.5\.4 /);
    await client.login('alice', password);
    assert.match(await client.send('MAIL FROM:<alice@example.org> SIZE=999999999999'), /^552 5\.3\.4 /);
    assert.match(await client.send('MAIL FROM:<alice@example.org> BODY=9BIT'), /^501 5\.5\.4 /);
    assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^503 5\.5\.1 /);
    assert.match(await client.send('DATA'), /^503 5\.5\.1 /);
    // A client that disconnects mid-DATA: nothing is queued.
    assert.match(await client.send('MAIL FROM:<alice@example.org>'), /^250 /);
    assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    client.write(message('alice@example.org', 'bob@remote.test', 'cut off'));
    client.close();
    const again = await SmtpRaw.connect(port);
    await again.client.login('alice', password);
    assert.match(await again.client.send('NOOP'), /^250 /);
    again.client.close();
    assert.equal((await outboxStates(server)).length, queued);
  });

  it('refuses an oversize message after DATA with 552 5.3.4', async () => {
    const queued = (await outboxStates(server)).length;
    const small = { server: await startTestServer({ settings: { maxMessageSize: 2048 } }) };
    try {
      await small.server.addUser('olga', password);
      await setupSending(small.server, 'olga', ['olga@example.org'], sink.port);
      const { client } = await SmtpRaw.connect(small.server.memgate.submission.port!);
      await client.login('olga', password);
      assert.match(await client.send('MAIL FROM:<olga@example.org>'), /^250 /);
      assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^250 /);
      assert.match(await client.send('DATA'), /^354 /);
      const big = message('olga@example.org', 'bob@remote.test', 'big', 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(70) + '\r\n').repeat(60));
      assert.match(await client.send(big + '.'), /^552 5\.3\.4 /);
      assert.match(await client.send('NOOP'), /^250 /);
      client.close();
    } finally {
      await small.server.stop();
    }
    assert.equal((await outboxStates(server)).length, queued);
  });

  it('files a DSN in INBOX when the relay refuses a recipient for good', async () => {
    sink.refuse.set('ghost@remote.test', { code: 550, text: '5.1.1 No such user here' });
    const inboxBefore = (await mailboxRaw(server, user.id, 'INBOX')).length;
    const before = sink.messages.length;
    const { client } = await SmtpRaw.connect(port);
    await client.login('alice', password);
    assert.match(await client.send('MAIL FROM:<alice@example.org> RET=HDRS ENVID=env-42'), /^250 /);
    assert.match(await client.send('RCPT TO:<ghost@remote.test> NOTIFY=FAILURE'), /^250 /);
    assert.match(await client.send('RCPT TO:<bob@remote.test>'), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    assert.match(await client.send(message('alice@example.org', 'ghost@remote.test', 'to a ghost') + '.'), /^250 2\.6\.0 /);
    client.close();
    await sink.waitFor(before + 1);
    assert.deepEqual(sink.messages[before].to, ['bob@remote.test']);
    await waitUntil(async () => (await mailboxRaw(server, user.id, 'INBOX')).length > inboxBefore, 'the DSN');
    const dsn = (await mailboxRaw(server, user.id, 'INBOX')).at(-1)!.toString();
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(dsn, /Final-Recipient: rfc822; ghost@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1/);
    assert.match(dsn, /Original-Envelope-Id: env-42/);
    assert.match(dsn, /Content-Type: text\/rfc822-headers\r\n\r\nFrom: <alice@example\.org>/);
    assert.doesNotMatch(dsn, /bob@remote\.test>?: /);
    sink.refuse.clear();
  });

  it('files a DSN and marks the message failed when every recipient is refused', async () => {
    sink.refuse.set('nobody@remote.test', { code: 550, text: '5.1.1 Gone' });
    const inboxBefore = (await mailboxRaw(server, user.id, 'INBOX')).length;
    const { client } = await SmtpRaw.connect(port);
    await client.login('alice', password);
    await client.send('MAIL FROM:<alice@example.org>');
    await client.send('RCPT TO:<nobody@remote.test>');
    await client.send('DATA');
    assert.match(await client.send(message('alice@example.org', 'nobody@remote.test', 'to nobody') + '.'), /^250 /);
    client.close();
    await waitUntil(async () => (await outboxStates(server)).at(-1) === 'failed', 'the failure');
    const inbox = await mailboxRaw(server, user.id, 'INBOX');
    assert.equal(inbox.length, inboxBefore + 1);
    assert.match(inbox.at(-1)!.toString(), /Final-Recipient: rfc822; nobody@remote\.test/);
    sink.refuse.clear();
  });
});

describe('submission from a non-loopback view', function () {
  this.timeout(60000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ loopbackIsSecure: false });
    await server.addUser('remy', 'remy-pass');
    await setupSending(server, 'remy', ['remy@example.org'], null);
  });
  after(async () => server?.stop());

  it('hides AUTH before STARTTLS and refuses it with 538 5.7.11; after STARTTLS it works', async () => {
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    const ehlo = await client.send('EHLO client.test');
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.match(ehlo, /STARTTLS/);
    assert.match(await client.send(`AUTH PLAIN ${Buffer.from('\0remy\0remy-pass').toString('base64')}`), /^538 5\.7\.11 /);
    assert.match(await client.send('STARTTLS'), /^220 /);
    await client.startTls();
    assert.match(await client.send('EHLO client.test'), /AUTH PLAIN LOGIN/);
    assert.match(await client.send(`AUTH PLAIN ${Buffer.from('\0remy\0remy-pass').toString('base64')}`), /^235 /);
    // This account has no relay: the message is refused, not queued to fail later.
    await client.send('MAIL FROM:<remy@example.org>');
    await client.send('RCPT TO:<bob@remote.test>');
    await client.send('DATA');
    assert.match(await client.send(message('remy@example.org', 'bob@remote.test', 'no relay') + '.'), /^550 5\.7\.1 .*not set up to send/);
    client.close();
  });
});
