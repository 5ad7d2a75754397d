// The push listener over real HTTP with bad and odd input (no backend, a store stand-in):
// every request gets a status, nothing crashes it; plus the Graph notification verifier.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/config/schema';
import { ensureCertificate, readCertificate } from '../../src/tls/certificate';
import { parseNotifications } from '../../adapters/graph/push';
import type { PushRow } from '../../src/store/push-subscriptions';
import { MAX_PUSH_BODY, pubsubAddress, startPushListener, type ListeningPush } from '../../src/push/server';

const TOKEN = 'tok_0123456789abcdefABCDEF';
const PUBSUB = 'pubsub_0123456789abcdef';

function row(over: Partial<PushRow> = {}): PushRow {
  return {
    id: '7',
    accountId: '3',
    folderId: 'inbox-id',
    token: TOKEN,
    secret: 'client-state-secret',
    baseUrl: 'http://x',
    remoteId: 'sub-1',
    state: 'active',
    expiresAt: new Date(Date.now() + 3600_000),
    failures: 0,
    retryAt: null,
    renewedAt: new Date(),
    error: null,
    ...over,
  };
}

function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(bytes);
  });
}

describe('push listener (HTTP input)', function () {
  let listener: ListeningPush;
  const delivered: Array<{ accountId: string; subscriptionId: string; body: string }> = [];
  const queued: string[] = [];
  let local = true;
  let queueFails = false;

  before(async () => {
    listener = await startPushListener(
      {
        store: {
          byToken: async (t) => (t === TOKEN ? row() : null),
          byRemoteId: async (id) => (id === 'alice@example.com' ? [row({ id: '8', folderId: '', remoteId: id })] : []),
          queueDelivery: async (r) => {
            if (queueFails) throw new Error('database down');
            queued.push(r.id);
          },
        },
        deliver: (accountId, subscriptionId, body) => {
          if (!local) return false;
          delivered.push({ accountId, subscriptionId, body: body.toString() });
          return true;
        },
        pubsubToken: PUBSUB,
        log: { info() {}, warn() {}, debug() {} },
      },
      { host: '127.0.0.1', port: 0 },
    );
  });
  after(async () => {
    await listener?.close();
  });

  const post = (path: string, body: string | Buffer = '{"value":[]}', headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    fetch(`${listener.localUrl}${path}`, { method: 'POST', headers, body });

  it('answers the validation handshake with the decoded token as text/plain, only for known subscriptions', async () => {
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 1+2 & 3%';
    const res = await post(`/push/${TOKEN}?validationToken=${encodeURIComponent(token)}`, '', { 'Content-Type': 'text/plain; charset=utf-8' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await res.text(), token);
    // Behind a proxy that keeps a path prefix.
    assert.equal((await post(`/memgate/push/${TOKEN}?validationToken=x`, '')).status, 200);
    assert.equal((await post(`/push/unknown_token_0123456789?validationToken=x`, '')).status, 404);
  });

  it('202 for a notification, handed over locally or queued for the holder; 503 when it cannot be kept', async () => {
    const body = JSON.stringify({ value: [{ subscriptionId: 'sub-1', clientState: 'client-state-secret' }] });
    assert.equal((await post(`/push/${TOKEN}`, body)).status, 202);
    assert.deepEqual(delivered.at(-1), { accountId: '3', subscriptionId: '7', body });
    local = false;
    try {
      assert.equal((await post(`/push/${TOKEN}`, body)).status, 202);
      assert.deepEqual(queued, ['7']);
      queueFails = true;
      assert.equal((await post(`/push/${TOKEN}`, body)).status, 503);
    } finally {
      local = true;
      queueFails = false;
    }
  });

  it('4xx for unknown paths and tokens, wrong methods, bodies that are not JSON, oversized bodies', async () => {
    assert.equal((await fetch(`${listener.localUrl}/`)).status, 404);
    assert.equal((await post('/push/short')).status, 404);
    assert.equal((await post('/push/unknown_token_0123456789')).status, 404);
    const get = await fetch(`${listener.localUrl}/push/${TOKEN}`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${listener.localUrl}/push/${TOKEN}`, { method: 'DELETE' })).status, 405);
    assert.equal((await post(`/push/${TOKEN}`, '{"value": [')).status, 400);
    assert.equal((await post(`/push/${TOKEN}`, Buffer.alloc(MAX_PUSH_BODY + 10, 0x20))).status, 413);
    assert.equal((await fetch(`${listener.localUrl}/push/health`)).status, 200);
    assert.equal((await post('/push/health')).status, 405);
  });

  it('Gmail Pub/Sub endpoint: token checked, envelope decoded, unknown addresses acknowledged', async () => {
    const env = (inner: unknown) => JSON.stringify({ message: { data: Buffer.from(JSON.stringify(inner)).toString('base64'), messageId: '1' }, subscription: 's' });
    assert.equal((await post('/push/gmail/wrong_token_0123456789', env({ emailAddress: 'alice@example.com', historyId: 1 }))).status, 403);
    assert.equal((await post('/push/gmail', env({ emailAddress: 'alice@example.com', historyId: 1 }))).status, 403);
    assert.equal((await post(`/push/gmail/${PUBSUB}`, 'null')).status, 400);
    assert.equal((await post(`/push/gmail/${PUBSUB}`, env({ historyId: 1 }))).status, 400);
    assert.equal((await post(`/push/gmail/${PUBSUB}`, env({ emailAddress: 'bob@example.com', historyId: 1 }))).status, 204);
    const n = delivered.length;
    assert.equal((await post(`/push/gmail?token=${PUBSUB}`, env({ emailAddress: 'Alice@Example.com', historyId: 12 }))).status, 202);
    assert.equal(delivered.length, n + 1);
    assert.equal(delivered.at(-1)!.subscriptionId, '8');
    assert.equal(pubsubAddress(Buffer.from(env({ emailAddress: 'A@B.example', historyId: '3' }))), 'a@b.example');
    assert.equal(pubsubAddress(Buffer.from('{"message":{"data":"%%%"}}')), null);
  });

  it('garbage on the socket gets 400 and the listener lives on', async () => {
    const answer = await raw(listener.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    const bad = await raw(listener.port, `POST /push/${TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n`);
    assert.match(bad, /^HTTP\/1\.1 400/);
    assert.equal((await fetch(`${listener.localUrl}/push/health`)).status, 200);
  });
});

describe('push listener over TLS, push settings', () => {
  it('serves https with the certificate it is given (MEMGATE_PUSH_TLS)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-push-tls-'));
    const tls = readCertificate(await ensureCertificate(dir));
    const listener = await startPushListener(
      { store: { byToken: async () => row(), byRemoteId: async () => [], queueDelivery: async () => undefined }, deliver: () => true, pubsubToken: null, tls, log: { info() {}, warn() {}, debug() {} } },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      assert.match(listener.localUrl, /^https:\/\//);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(`${listener.localUrl}/push/${TOKEN}?validationToken=hello%20there`, { method: 'POST', ca: tls.cert }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(answer, { status: 200, body: 'hello there' });
    } finally {
      await listener.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates the settings', () => {
    const parse = (extra: Record<string, unknown>) => configSchema.safeParse({ dataDir: '/tmp/x', ...extra });
    assert.equal(parse({}).data?.pushPort, 0);
    assert.equal(parse({}).data?.pushPublicUrl, undefined);
    assert.equal(parse({}).data?.pushPollSeconds, 900);
    assert.ok(parse({ pushPublicUrl: 'https://gw.example.com/memgate' }).success);
    assert.ok(!parse({ pushPublicUrl: 'ftp://gw.example.com' }).success);
    assert.ok(!parse({ pushPublicUrl: 'https://gw.example.com/?a=b' }).success);
    assert.ok(!parse({ pushPubsubToken: 'short' }).success);
    assert.ok(!parse({ pushPort: 70000 }).success);
  });
});

describe('Graph notification verification (parseNotifications)', () => {
  const sub = { id: 'sub-1', expiresAt: new Date(), secret: 's3cret', folderId: 'F' };
  const parse = (v: unknown) => parseNotifications(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), sub);

  it('accepts only notifications with the subscription id and clientState', () => {
    assert.deepEqual(parse({ value: [{ subscriptionId: 'sub-1', clientState: 's3cret', changeType: 'created' }] }), { folderIds: ['F'] });
    assert.equal(parse({ value: [{ subscriptionId: 'sub-1', clientState: 's3creT' }] }), null);
    assert.equal(parse({ value: [{ subscriptionId: 'sub-2', clientState: 's3cret' }] }), null);
    assert.equal(parse({ value: [{ subscriptionId: 'sub-1' }] }), null);
    assert.equal(parse({ value: [null, 5, 'x'] }), null);
    assert.equal(parse({ value: {} }), null);
    assert.equal(parse('not json'), null);
    // A batch with one forged and one genuine notification is still worth a delta.
    assert.deepEqual(parse({ value: [{ subscriptionId: 'sub-1', clientState: 'no' }, { subscriptionId: 'sub-1', clientState: 's3cret' }] }), { folderIds: ['F'] });
  });

  it('maps lifecycle events', () => {
    const n = (lifecycleEvent: string) => ({ subscriptionId: 'sub-1', clientState: 's3cret', lifecycleEvent });
    assert.deepEqual(parse({ value: [n('subscriptionRemoved')] }), { folderIds: ['F'], subscription: 'recreate' });
    assert.deepEqual(parse({ value: [n('reauthorizationRequired')] }), { folderIds: ['F'], subscription: 'renew' });
    assert.deepEqual(parse({ value: [n('missed')] }), { folderIds: ['F'] });
    assert.deepEqual(parse({ value: [n('reauthorizationRequired'), n('subscriptionRemoved')] }), { folderIds: ['F'], subscription: 'recreate' });
  });
});
