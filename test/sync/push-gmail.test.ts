// Gmail push end to end (issue 5): users.watch on a Pub/Sub topic whose push subscription
// posts to memgate's listener (<public URL>/push/gmail/<token>), seen by an IDLE-ing
// imapflow client. The account polls once an hour, so an arrival at once came by push.
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { gmailAccountCredentials, gmailAccountSettings, GMAIL_USER, mime } from '../support/gmail';
import { eventually, startSyncServer, type SyncServer } from './helpers';
import { Arrivals, PUSH_ON, pushStats, quiet, subscribed } from './push-helpers';

const TOPIC = 'projects/memgate-test/topics/gmail';
const TOKEN = 'pubsub-secret-0123456789abcdef';

describe('Gmail push through memgate (emulator watch + Pub/Sub push)', function () {
  this.timeout(60000);
  let emu: GmailEmulator;
  let server: SyncServer;
  let accountId: string;
  const clients: ImapFlow[] = [];

  before(async () => {
    emu = await startGmailEmulator({ users: [GMAIL_USER] });
    server = await startSyncServer({ push: PUSH_ON, settings: { pushPubsubToken: TOKEN } });
    // The push subscription an operator sets up in Google Cloud, pointing at memgate.
    emu.state.watches.addSubscription({ topicName: TOPIC, subscription: 'projects/memgate-test/subscriptions/memgate', endpoint: `${server.memgate.push!.localUrl}/push/gmail/${TOKEN}` });
    await server.memgate.store.createUser('alice', 'imap-pass');
    const key = loadMasterKey(server.dataDir).key;
    ({ accountId } = await server.sync.addAccount({
      userName: 'alice',
      kind: 'gmail',
      label: null,
      settings: gmailAccountSettings(emu, { pollIntervalSeconds: 3600, pubsubTopic: TOPIC }),
      credentials: encryptCredentials(key, gmailAccountCredentials(emu)),
    }));
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
    await server?.stop();
    await emu?.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  const push = (path: string, body: unknown): Promise<Response> =>
    fetch(`${server.memgate.push!.localUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const envelope = (emailAddress: string, historyId: number | string = 1) => ({
    message: { data: Buffer.from(JSON.stringify({ emailAddress, historyId })).toString('base64'), messageId: '1', publishTime: new Date().toISOString() },
    subscription: 'projects/memgate-test/subscriptions/memgate',
  });

  it('watches the account and an inserted message reaches an IDLE-ing client by push (history only, no label listing)', async () => {
    const [row] = await subscribed(server, accountId, false);
    assert.equal(row.remoteId, GMAIL_USER);
    assert.ok(emu.state.watches.isWatching(GMAIL_USER));
    const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: 'imap-pass' }, logger: false });
    clients.push(client);
    await client.connect();
    const arrivals = new Arrivals(client);
    await arrivals.start();
    await quiet(() => emu.state.requests.length); // the catch-up sync after watching
    const before = emu.state.quota.usage(GMAIL_USER).calls;
    emu.state.deliver(GMAIL_USER, mime({ subject: 'pushed by Gmail' }));
    await arrivals.waitFor('pushed by Gmail');
    assert.ok(emu.state.watches.deliveries.some((d) => d.status === 202), 'the listener acknowledged the push');
    const calls = emu.state.quota.usage(GMAIL_USER).calls;
    const n = (c: Record<string, number>, method: string): number => c[`gmail.users.${method}`] ?? 0;
    assert.ok(n(calls, 'history.list') > n(before, 'history.list'), 'history.list after the push');
    assert.equal(n(calls, 'labels.list'), n(before, 'labels.list'), 'a pushed sync lists no labels');
  });

  it('rejects a forged push (wrong or missing token) and bad envelopes; acknowledges unknown addresses', async () => {
    const stats = pushStats(server);
    const received = stats.received;
    assert.equal((await push('/push/gmail/wrong-token-0123456789abcdef', envelope(GMAIL_USER))).status, 403);
    assert.equal((await push('/push/gmail', envelope(GMAIL_USER))).status, 403);
    assert.equal((await push(`/push/gmail?token=nope-${TOKEN}`, envelope(GMAIL_USER))).status, 403);
    assert.equal((await push(`/push/gmail/${TOKEN}`, '{not json')).status, 400);
    assert.equal((await push(`/push/gmail/${TOKEN}`, { message: { data: '!!!' } })).status, 400);
    assert.equal((await push(`/push/gmail/${TOKEN}`, { message: { data: Buffer.from('{"historyId":5}').toString('base64') } })).status, 400);
    assert.equal((await push(`/push/gmail/${TOKEN}`, envelope('nobody@example.com'))).status, 204);
    assert.equal(stats.received, received, 'nothing forged reached the sync');
    // The right token (in the path or as ?token=) is acted on.
    assert.equal((await push(`/push/gmail?token=${TOKEN}`, envelope(GMAIL_USER.toUpperCase(), '99'))).status, 202);
    await eventually(() => stats.received === received + 1, 10000, 'a genuine push handled');
  });
});
