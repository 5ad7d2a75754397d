// The relay's connections are reused: several messages of an account go over the pooled
// connections (maxConnections per account), and new relay settings take effect at once.
import assert from 'node:assert/strict';
import { PgSendingAccounts } from '../../src/store/sending-accounts';
import { startTestServer, type TestServer } from '../support/server';
import { message, setupSending, SmtpRaw, startSink, type Sink } from './helpers';

describe('relay connection pool', function () {
  this.timeout(60000);
  let server: TestServer;
  let sink: Sink;
  let other: Sink;
  let userId: string;

  before(async () => {
    server = await startTestServer();
    sink = await startSink();
    other = await startSink();
    await server.addUser('pia', 'pia-pass');
    userId = (await setupSending(server, 'pia', ['pia@example.org'], null)).id;
  });
  after(async () => {
    await server?.stop();
    await sink?.close();
    await other?.close();
  });

  const relay = (port: number, maxConnections: number) =>
    new PgSendingAccounts(server.memgate.database.dataSource).updateSubmissionSettings(userId, {
      smtpRelay: { host: '127.0.0.1', port, timeoutSeconds: 10, maxConnections },
    });

  async function submit(count: number, tag: string): Promise<void> {
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    await client.login('pia', 'pia-pass');
    for (let i = 0; i < count; i++) {
      await client.send('MAIL FROM:<pia@example.org>');
      await client.send('RCPT TO:<quinn@remote.test>');
      await client.send('DATA');
      assert.match(await client.send(message('pia@example.org', 'quinn@remote.test', `${tag} ${i}`) + '.'), /^250 /);
    }
    client.close();
  }

  it('sends a queue of messages over the pooled connections', async () => {
    await relay(sink.port, 1);
    await submit(6, 'pooled');
    await sink.waitFor(6);
    assert.equal(sink.connections, 1, 'one connection for six messages');
    await relay(sink.port, 2);
    await submit(6, 'two at once');
    await sink.waitFor(12);
    assert.ok(sink.connections >= 2 && sink.connections <= 3, `${sink.connections} connections`);
  });

  it('uses new relay settings for the next message', async () => {
    await relay(other.port, 2);
    await submit(1, 'elsewhere');
    await other.waitFor(1);
    assert.match(other.messages[0]!.raw.toString(), /Subject: elsewhere 0/);
  });
});
