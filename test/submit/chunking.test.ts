// CHUNKING and BINARYMIME (RFC 3030) in raw conversations: no stock client sends BDAT.
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server';
import { message, setupSending, SmtpRaw, startSink, type Sink } from './helpers';

describe('BDAT (CHUNKING, BINARYMIME)', function () {
  this.timeout(60000);
  let server: TestServer;
  let sink: Sink;
  let port: number;

  before(async () => {
    server = await startTestServer({ settings: { maxMessageSize: 4096 } });
    sink = await startSink();
    await server.addUser('bea', 'bea-pass');
    await setupSending(server, 'bea', ['bea@example.org'], sink.port);
    port = server.memgate.submission.port!;
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
  });

  async function queued(): Promise<number> {
    const rows: Array<{ n: string }> = await server.memgate.database.dataSource.query('SELECT count(*) AS n FROM outbox');
    return Number(rows[0].n);
  }

  async function session(): Promise<SmtpRaw> {
    const { client } = await SmtpRaw.connect(port);
    await client.login('bea', 'bea-pass');
    return client;
  }

  it('assembles pipelined chunks byte-exact, 8-bit and dot lines included', async () => {
    const before = sink.messages.length;
    const text = message('bea@example.org', 'bob@remote.test', 'chunked', '.leading dot\r\nnaïve 8-bit \xe9\xe8\r\n.\r\nend\r\n');
    const bytes = Buffer.from(text, 'latin1');
    const a = bytes.subarray(0, 40);
    const b = bytes.subarray(40);
    const c = await session();
    c.write(
      Buffer.concat([
        Buffer.from('MAIL FROM:<bea@example.org> BODY=8BITMIME\r\nRCPT TO:<bob@remote.test>\r\n'),
        Buffer.from(`BDAT ${a.length}\r\n`),
        a,
        Buffer.from(`BDAT ${b.length} LAST\r\n`),
        b,
        Buffer.from('NOOP\r\n'),
      ]),
    );
    assert.match(await c.reply(), /^250 2\.1\.0 /);
    assert.match(await c.reply(), /^250 2\.1\.5 /);
    assert.match(await c.reply(), new RegExp(`^250 2\\.0\\.0 ${a.length} octets received`));
    assert.match(await c.reply(), /^250 2\.6\.0 Message queued as \d+/);
    assert.match(await c.reply(), /^250 /);
    c.close();
    await sink.waitFor(before + 1);
    assert.ok(sink.messages[before].raw.equals(bytes), 'the relay got the exact bytes');
  });

  it('takes BODY=BINARYMIME, refuses DATA for it, and accepts BDAT 0 LAST as the end', async () => {
    const c = await session();
    assert.match(await c.send('MAIL FROM:<bea@example.org> BODY=BINARYMIME'), /^250 /);
    assert.match(await c.send('RCPT TO:<bob@remote.test>'), /^250 /);
    assert.match(await c.send('DATA'), /^503 5\.5\.1 BODY=BINARYMIME requires BDAT/);
    const body = Buffer.from(message('bea@example.org', 'bob@remote.test', 'binary'), 'latin1');
    c.write(Buffer.concat([Buffer.from(`BDAT ${body.length}\r\n`), body]));
    assert.match(await c.reply(), /^250 2\.0\.0 /);
    assert.match(await c.send('DATA'), /^503 5\.5\.1 DATA cannot follow BDAT/);
    assert.match(await c.send('BDAT 0 LAST'), /^250 2\.6\.0 Message queued/);
    c.close();
  });

  it('reads and refuses a chunk without MAIL, then goes on', async () => {
    const before = await queued();
    const c = await session();
    c.write('BDAT 13 LAST\r\nMAIL FROM:<x>');
    assert.match(await c.reply(), /^503 5\.5\.1 Need MAIL command/);
    assert.match(await c.send('NOOP'), /^250 /);
    c.close();
    assert.equal(await queued(), before);
  });

  it('answers bytes beyond the declared size as commands (500), and bad sizes with 501 and a close', async () => {
    const before = await queued();
    const c = await session();
    await c.send('MAIL FROM:<bea@example.org>');
    await c.send('RCPT TO:<bob@remote.test>');
    c.write('BDAT 5\r\nFrom: too long for five\r\n');
    assert.match(await c.reply(), /^250 2\.0\.0 5 octets/);
    assert.match(await c.reply(), /^500 5\.5\.2 /);
    assert.match(await c.send('BDAT -3 LAST'), /^501 5\.5\.4 Syntax: BDAT/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.closed, true);
    assert.equal(await queued(), before);
    // The server lives on.
    const d = await session();
    assert.match(await d.send('NOOP'), /^250 /);
    d.close();
  });

  it('refuses an oversize chunked message with 552 5.3.4 and queues nothing', async () => {
    const before = await queued();
    const c = await session();
    await c.send('MAIL FROM:<bea@example.org>');
    await c.send('RCPT TO:<bob@remote.test>');
    const big = Buffer.alloc(5000, 0x61);
    c.write(Buffer.concat([Buffer.from(`BDAT ${big.length} LAST\r\n`), big]));
    assert.match(await c.reply(), /^552 5\.3\.4 /);
    assert.match(await c.send('NOOP'), /^250 /);
    c.close();
    assert.equal(await queued(), before);
  });

  it('queues nothing when the client disconnects mid-chunk', async () => {
    const before = await queued();
    const c = await session();
    await c.send('MAIL FROM:<bea@example.org>');
    await c.send('RCPT TO:<bob@remote.test>');
    c.write('BDAT 100 LAST\r\nFrom: <bea@example.org>\r\n');
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await queued(), before);
  });
});
