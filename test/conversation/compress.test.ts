// COMPRESS=DEFLATE (RFC 4978) over real TCP: a raw client that inflates and deflates, IDLE
// updates through the compressor, STARTTLS then COMPRESS, Python's imaplib with the socket
// wrapped in zlib by the script, and imapflow (which compresses whenever it is offered),
// seen through a byte-counting proxy that proves the wire really was compressed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';
import { userWithInbox } from '../support/mailbox';

const run = promisify(execFile);

/** A repetitive body: compressible, so the byte counts can show the compression. */
const BODY = Array.from({ length: 400 }, (_, i) => `line ${i % 10} of a rather repetitive message body`).join('\r\n');
const MESSAGE = `From: a@example.org\r\nTo: b@example.org\r\nSubject: deflate me\r\n\r\n${BODY}\r\n`;

describe('COMPRESS=DEFLATE', function () {
  let server: TestServer;
  let creds: { user: string; password: string };

  before(async () => {
    server = await startTestServer();
    creds = await userWithInbox(server, [{ raw: Buffer.from(MESSAGE), flags: [] }]);
  });
  after(async () => server?.stop());

  async function login(c: RawClient): Promise<string> {
    const r = await c.command('l', `LOGIN ${creds.user} "${creds.password}"`);
    assert.match(r, /^l OK/m);
    return r;
  }

  it('is advertised after login only and refused before it', async () => {
    const c = await RawClient.connect(server.port);
    const before = await c.command('c', 'CAPABILITY');
    assert.doesNotMatch(before, /COMPRESS=DEFLATE/);
    assert.match(await c.command('z', 'COMPRESS DEFLATE'), /^z BAD/m);
    assert.match(await login(c), /COMPRESS=DEFLATE/);
    c.close();
  });

  it('refuses unknown mechanisms with BAD and a second COMPRESS with [COMPRESSIONACTIVE]', async () => {
    const c = await RawClient.connect(server.port);
    await login(c);
    assert.match(await c.command('u', 'COMPRESS X-LZ4'), /^u BAD/m);
    assert.match(await c.command('v', 'COMPRESS'), /^v BAD/m);
    assert.equal(await c.compress('z1'), 'z1 OK DEFLATE active\r\n');
    assert.equal(await c.command('z2', 'COMPRESS DEFLATE'), 'z2 NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n');
    assert.equal(await c.command('n', 'NOOP'), 'n OK NOOP completed\r\n');
    c.close();
  });

  it('carries a whole session, with fewer bytes on the wire', async () => {
    const c = await RawClient.connect(server.port);
    await login(c);
    await c.compress();
    assert.match(await c.command('s', 'SELECT INBOX'), /^\* 1 EXISTS\r\n[\s\S]*^s OK \[READ-WRITE\]/m);
    const before = c.wireBytesIn;
    const r = await c.command('f', 'FETCH 1 (BODY.PEEK[] ENVELOPE)');
    assert.ok(r.includes(`BODY[] {${MESSAGE.length}}\r\n${MESSAGE} ENVELOPE`), r.slice(0, 200));
    assert.match(r, /ENVELOPE \(NIL "deflate me"/);
    const wire = c.wireBytesIn - before;
    assert.ok(wire * 5 < r.length, `compressed ${wire} bytes for ${r.length} plain ones`);
    // Literals from the client go through the compressor too.
    const appended = 'Subject: up\r\n\r\nthrough deflate\r\n';
    assert.match(await c.command('a', `APPEND INBOX {${appended.length}+}\r\n${appended}`), /^a OK \[APPENDUID \d+ 2\]/m);
    assert.match(await c.command('g', 'UID FETCH 2 BODY.PEEK[TEXT]'), /BODY\[TEXT\] \{17\}\r\nthrough deflate\r\n\)/);
    assert.match(await c.command('x', 'UID STORE 2 +FLAGS.SILENT (\\Deleted)'), /^x OK/m);
    assert.match(await c.command('y', 'UID EXPUNGE 2'), /^\* 2 EXPUNGE/m);
    const bye = await c.command('o', 'LOGOUT');
    assert.match(bye, /^\* BYE[^\r]*\r\no OK/m);
  });

  it('delivers IDLE updates at once (flushed per response)', async () => {
    const watcher = await RawClient.connect(server.port);
    await login(watcher);
    await watcher.compress();
    await watcher.command('s', 'SELECT INBOX');
    watcher.write('i IDLE\r\n');
    assert.match(await watcher.readLine(), /^\+ /);
    const actor = await RawClient.connect(server.port);
    await login(actor);
    const msg = 'Subject: ping\r\n\r\nping\r\n';
    await actor.command('a', `APPEND INBOX {${msg.length}+}\r\n${msg}`);
    await watcher.waitFor((t) => /\* \d+ EXISTS\r\n/.test(t));
    watcher.drain();
    watcher.write('DONE\r\n');
    assert.match(await watcher.untilTagged('i'), /^i OK/m);
    watcher.close();
    actor.close();
  });

  it('works after STARTTLS', async () => {
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('t', 'STARTTLS'), /^t OK/m);
    await c.startTls();
    await login(c);
    assert.equal(await c.compress(), 'z OK DEFLATE active\r\n');
    assert.match(await c.command('s', 'EXAMINE INBOX'), /^s OK \[READ-ONLY\]/m);
    assert.match(await c.command('f', 'FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]'), /Subject: deflate me/);
    c.close();
  });

  it('works for Python imaplib with the socket wrapped in zlib', async () => {
    const script = `
import imaplib, json, sys, zlib
imaplib.Commands['COMPRESS'] = ('AUTH', 'SELECTED')

class Deflated(imaplib.IMAP4):
    z = None
    def compress(self):
        typ, data = self._simple_command('COMPRESS', 'DEFLATE')
        if typ == 'OK':
            self.z = (zlib.decompressobj(-15), zlib.compressobj(6, zlib.DEFLATED, -15))
            self.zbuf = b''
            self.wire = 0
        return typ
    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise imaplib.IMAP4.abort('socket closed')
        self.wire += len(data)
        self.zbuf += self.z[0].decompress(data)
    def read(self, size):
        if self.z is None:
            return super().read(size)
        while len(self.zbuf) < size:
            self._fill()
        out, self.zbuf = self.zbuf[:size], self.zbuf[size:]
        return out
    def readline(self):
        if self.z is None:
            return super().readline()
        while b'\\n' not in self.zbuf:
            self._fill()
        i = self.zbuf.index(b'\\n') + 1
        out, self.zbuf = self.zbuf[:i], self.zbuf[i:]
        return out
    def send(self, data):
        if self.z is None:
            return super().send(data)
        self.sock.sendall(self.z[1].compress(data) + self.z[1].flush(zlib.Z_SYNC_FLUSH))

m = Deflated(sys.argv[1], int(sys.argv[2]))
m.login(sys.argv[3], sys.argv[4])
out = {'compress': m.compress()}
out['select'] = m.select('INBOX')[1][0].decode()
typ, data = m.fetch('1', '(BODY.PEEK[])')
out['body_len'] = len(data[0][1])
out['wire'] = m.wire
out['search'] = m.search(None, 'SUBJECT', '"deflate me"')[1][0].decode()
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;
    const { stdout } = await run('python3', ['-c', script, '127.0.0.1', String(server.port), creds.user, creds.password]);
    const out = JSON.parse(stdout) as Record<string, string | number>;
    assert.equal(out.compress, 'OK');
    assert.equal(out.body_len, MESSAGE.length);
    assert.ok(Number(out.wire) * 5 < MESSAGE.length, `wire ${out.wire} for a ${MESSAGE.length}-byte body`);
    assert.equal(out.search, '1');
    assert.equal(out.logout, 'BYE');
  });

  it('works for imapflow, which compresses when it is offered', async () => {
    // A proxy between imapflow and memgate keeps what the server sent.
    const fromServer: Buffer[] = [];
    const proxy = net.createServer((client) => {
      const upstream = net.connect(server.port, '127.0.0.1');
      upstream.on('data', (d: Buffer) => fromServer.push(d));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: (proxy.address() as net.AddressInfo).port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: creds.user, pass: creds.password },
      logger: false,
    });
    try {
      await client.connect();
      const lock = await client.getMailboxLock('INBOX');
      try {
        const messages = [];
        for await (const m of client.fetch('1:*', { envelope: true, uid: true, flags: true })) messages.push(m);
        assert.ok(messages.some((m) => m.envelope?.subject === 'deflate me'));
        const { content } = await client.download('1', undefined, { uid: false });
        assert.ok(content);
        const chunks: Buffer[] = [];
        for await (const chunk of content) chunks.push(chunk as Buffer);
        assert.equal(Buffer.concat(chunks).toString('latin1'), MESSAGE);
        assert.deepEqual(await client.search({ subject: 'deflate me' }), [1]);
      } finally {
        lock.release();
      }
      await client.logout();
    } finally {
      proxy.close();
    }
    const wire = Buffer.concat(fromServer);
    // The greeting and the LOGIN answer are plain; the body and the envelope never were.
    assert.ok(wire.includes('COMPRESS=DEFLATE'));
    assert.ok(!wire.includes('deflate me'), 'the subject crossed the wire uncompressed');
    assert.ok(!wire.includes('rather repetitive'), 'the body crossed the wire uncompressed');
    assert.ok(wire.length < MESSAGE.length, `${wire.length} bytes from the server for a ${MESSAGE.length}-byte body`);
  });
});
