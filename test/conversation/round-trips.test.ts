// RFC 5550's round-trip budget: from TCP connect to a resynchronised mailbox in at most four
// round trips over implicit TLS (TCP, TLS 1.3, the greeting with CAPABILITY, then one
// pipelined AUTHENTICATE PLAIN with SASL-IR + ENABLE QRESYNC + SELECT (QRESYNC ...)).
// A proxy between client and server counts the client's flights: each time the client
// sends after the server has spoken, the client has waited one round trip.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

interface CountingProxy {
  port: number;
  flights(): number;
  close(): void;
}

async function countingProxy(target: number): Promise<CountingProxy> {
  let flights = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    let last: 'client' | 'server' | null = null;
    const upstream = net.connect(target, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (d) => {
      if (last !== 'client') flights++;
      last = 'client';
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      last = 'server';
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    flights: () => flights,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('round-trip budget (RFC 5550)', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  it('resynchronises a changed mailbox within 4 round trips of TCP connect over implicit TLS', async () => {
    // A first visit: some mail, then remember UIDVALIDITY and HIGHESTMODSEQ.
    const first = await RawClient.connect(server.port);
    await first.command('l', `LOGIN ${creds.user} ${creds.password}`);
    for (let i = 0; i < 30; i++) {
      const msg = `Subject: m${i}\r\n\r\nbody ${i}\r\n`;
      await first.command(`a${i}`, `APPEND INBOX {${msg.length}+}\r\n${msg}`);
    }
    const status = await first.command('st', 'STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)');
    const [, uidValidity, modseq] = /UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)/.exec(status)!;
    // Changes while the phone is away: flags on three messages, two expunged.
    await first.command('s', 'SELECT INBOX');
    await first.command('f', 'STORE 1:3 +FLAGS.SILENT (\\Seen)');
    await first.command('d', 'STORE 10,20 +FLAGS.SILENT (\\Deleted)');
    await first.command('x', 'EXPUNGE');
    first.close();

    const proxy = await countingProxy(server.tlsPort);
    try {
      const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: proxy.port, rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
      });
      assert.equal(socket.getProtocol(), 'TLSv1.3');
      let received = '';
      const waitFor = (re: RegExp) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out; got:\n${received}`)), 10000);
          const check = () => {
            if (re.test(received)) {
              clearTimeout(timer);
              socket.off('data', onData);
              resolve();
            }
          };
          const onData = (d: Buffer) => {
            received += d.toString('latin1');
            check();
          };
          socket.on('data', onData);
          check();
        });
      // The greeting carries CAPABILITY, so the client knows it may pipeline SASL-IR and QRESYNC.
      await waitFor(/^\* OK \[CAPABILITY [^\]]*SASL-IR[^\]]*QRESYNC/m);
      const ir = Buffer.from(`\0${creds.user}\0${creds.password}`).toString('base64');
      socket.write(`a AUTHENTICATE PLAIN ${ir}\r\nb ENABLE QRESYNC\r\nc SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))\r\n`);
      await waitFor(/\r\nc (OK|NO|BAD)[^\r\n]*\r\n/);
      socket.destroy();

      assert.match(received, /^a OK/m);
      assert.match(received, /^\* ENABLED QRESYNC/m);
      assert.match(received, /^\* VANISHED \(EARLIER\) 10,20\r$/m);
      for (const n of [1, 2, 3]) assert.match(received, new RegExp(`^\\* ${n} FETCH \\(UID ${n} FLAGS \\(\\\\Seen\\) MODSEQ \\(\\d+\\)\\)`, 'm'));
      assert.match(received, /^c OK \[READ-WRITE\]/m);
      // One round trip for TCP's handshake, then the client's flights through the proxy.
      const roundTrips = 1 + proxy.flights();
      if (process.env.MEMGATE_TEST_VERBOSE) console.log(`round trips: ${roundTrips}`);
      assert.ok(roundTrips <= 4, `needed ${roundTrips} round trips`);
    } finally {
      proxy.close();
    }
  });
});
